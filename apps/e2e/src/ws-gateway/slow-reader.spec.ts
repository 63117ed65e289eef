import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { AgentEvent, BUS_KEYS } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AgentSocket, closeSockets, expectContractOnly, sleep } from '../support/agent-client';
import { AuthStack, loginAs, Session, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Issue 10 item 6, contract 4.3: a client that cannot keep up with reading.
 * A run whose events add up to megabytes (more than the kernel buffers of a
 * loopback connection hold) is replayed to a client that has stopped reading
 * its TCP socket. The gateway stops relaying at the soft mark instead of
 * queueing; a client that then reads again before SLOW_READER_TIMEOUT_MS
 * gets every event on the same socket. One that stays stalled past it is
 * closed with 1013, and since the close frame is not queued behind
 * megabytes, the client sees the 1013 when it reads again within the
 * following SLOW_READER_TIMEOUT_MS, and `resume`s on a new socket with every
 * event exactly once. (It used to see 1006: the close frame sat behind the
 * unread bytes and the socket was destroyed one second later.)
 */
const EVENT_TEXT_BYTES = 16 * 1024;
const EVENTS = 640; // about 10 MB
const SLOW_READER_TIMEOUT_MS = 5000;
/** How long the stalled client stays stalled after the gateway decided to close it. */
const STALL_AFTER_CLOSE_MS = 1500;

describe('a slow reader', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let alice: Session;
  let runId: string;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [
      {
        MAX_BUFFERED_BYTES: String(256 * 1024),
        SLOW_READER_TIMEOUT_MS: String(SLOW_READER_TIMEOUT_MS),
        MESSAGE_RATE_LIMIT: '1000/1s',
      },
    ]));
    alice = await loginAs(stack.auth.url, USERS[0]);
    const probe = await openAs('alice-probe');
    runId = await writeLongRun(probe.userId);
  }, 60_000);
  afterAll(async () => {
    closeSockets(sockets);
    expectContractOnly(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAs(label: string): Promise<AgentSocket> {
    const socket = await AgentSocket.open(gateway.url, await alice.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  /** A finished run of Alice's with EVENTS events, written as an agent writes them. */
  async function writeLongRun(userId: string): Promise<string> {
    const id = randomUUID();
    const threadId = randomUUID();
    const ts = new Date().toISOString();
    const events: AgentEvent[] = Array.from({ length: EVENTS }, (_, i) => {
      const base = { run_id: id, thread_id: threadId, event_id: i + 1, ts };
      if (i === 0) return { ...base, type: 'agent_started' };
      if (i === EVENTS - 1) return { ...base, type: 'agent_completed', result: 'done' };
      return { ...base, type: 'agent_thinking', text: `${i}:`.padEnd(EVENT_TEXT_BYTES, 'x') };
    });
    const write = redis.client.pipeline();
    write.hset(`${redis.prefix}${BUS_KEYS.run(id)}`, {
      user_id: userId,
      session_id: randomUUID(),
      thread_id: threadId,
      status: 'completed',
      created_at: ts,
      last_event_id: String(EVENTS),
    });
    for (const event of events)
      write.xadd(`${redis.prefix}${BUS_KEYS.runEvents(id)}`, '*', 'event', JSON.stringify(event));
    await write.exec();
    return id;
  }

  const tcp = (socket: AgentSocket) => (socket.ws as unknown as { _socket: Socket })._socket;

  function connectionId(socket: AgentSocket): string {
    const first = socket.frames.find((f) => f.type === 'connection_established');
    return first?.type === 'connection_established' ? first.connection_id : '';
  }

  /** Waits for the gateway's log line `msg` about this socket. */
  async function gatewayLogged(socket: AgentSocket, msg: string, timeoutMs = 30_000) {
    const id = connectionId(socket);
    const deadline = Date.now() + timeoutMs;
    while (!gateway.logLines().some((l) => l['msg'] === msg && l['connection_id'] === id)) {
      if (Date.now() > deadline) throw new Error(`the gateway did not log "${msg}" for ${id}`);
      await sleep(20);
    }
  }

  function ids(events: AgentEvent[]): number[] {
    return events.map((e) => e.event_id);
  }

  const all = Array.from({ length: EVENTS }, (_, i) => i + 1);

  it('holds events back for a client that stalls briefly, then sends every one on the same socket', async () => {
    const socket = await openAs('alice-brief-stall');
    tcp(socket).pause();
    socket.send({ type: 'resume', run_id: runId });
    await gatewayLogged(socket, 'slow reader: holding back events until it reads');
    tcp(socket).resume();
    await socket.until(() => socket.finished(runId), 'the end of the run', 60_000);
    expect(ids(socket.eventsOf(runId))).toEqual(all);
    expect(socket.closed).toBeUndefined();
  }, 90_000);

  it('closes a client that stays stalled with 1013 it can see, and it resumes every event exactly once', async () => {
    const first = await openAs('alice-stalled');
    tcp(first).pause();
    first.send({ type: 'resume', run_id: runId });
    await gatewayLogged(first, 'slow reader: closing with 1013');
    // Slow, not gone: it reads again a little later.
    await sleep(STALL_AFTER_CLOSE_MS);
    tcp(first).resume();
    const deadline = Date.now() + 60_000;
    while (!first.closed && Date.now() < deadline) await sleep(50);
    expect(first.closed?.code).toBe(1013);
    const seen = first.eventsOf(runId);
    expect(ids(seen)).toEqual(all.slice(0, seen.length));
    expect(seen.length).toBeLessThan(EVENTS);

    const second = await openAs('alice-resumed');
    const after = seen.length ? seen[seen.length - 1].event_id : 0;
    second.send({ type: 'resume', run_id: runId, after_event_id: after });
    await second.until(() => second.finished(runId), 'the end of the resumed run', 60_000);
    const received = [...seen, ...second.eventsOf(runId)];
    expect(ids(received)).toEqual(all);
    expect(received[0].type).toBe('agent_started');
    expect(received[EVENTS - 1].type).toBe('agent_completed');
    expect(second.closed).toBeUndefined();
  }, 90_000);
});
