import { ServerMessage } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import Redis from 'ioredis';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  PrivateRedis,
  startWorker,
} from '../support/agent-client';
import { getJson } from '../support/auth-client';
import { AuthStack, loginAs, startAuth, startGateway, USERS } from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Redis restarted under running services (a private redis-server, killed and
 * started again on the same port, empty): auth-service, the gateway and the
 * worker reconnect by themselves, and a chat is never met with silence. It
 * is answered with its run's events, or with an `error`, within the
 * gateway's CHAT_ACK_TIMEOUT_MS. Sessions and tickets are gone with the old
 * Redis, so the client logs in again; the seeded users are put back as a
 * persistent user store would keep them.
 */
const CHAT_ACK_TIMEOUT_MS = 3000;
const MARGIN_MS = 2000;

describe('Redis restarted under the running services', () => {
  let server: PrivateRedis;
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let worker: ServiceProcess;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = await connectTestRedis(undefined, server.url);
    stack = await startAuth(redis);
    [gateway, worker] = await Promise.all([
      startGateway(redis, stack, { CHAT_ACK_TIMEOUT_MS: String(CHAT_ACK_TIMEOUT_MS) }),
      startWorker(redis, { AGENT_STEP_DELAY_MS: '20' }),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    // Everything this file wrote dies with its private server. redis.client lost its
    // connection at the restart for good (disconnecting it again would leave a timer).
    if (redis?.client.status === 'ready') await redis.client.quit();
    await server?.kill();
  });

  async function openAlice(label: string): Promise<AgentSocket> {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const socket = await AgentSocket.open(gateway.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  /** The chat's answer: its run's first event or an `error` for it, within the ack timeout. */
  async function answerTo(socket: AgentSocket, content: string, ref: string) {
    const known = new Set(socket.runIds());
    socket.chat(content, ref);
    const isAnswer = (f: ServerMessage) =>
      (f.type === 'error' && f.ref === ref) || (f.type === 'agent_started' && !known.has(f.run_id));
    return socket.waitFor(isAnswer, `an answer to ${ref}`, CHAT_ACK_TIMEOUT_MS + MARGIN_MS);
  }

  async function ready(service: ServiceProcess): Promise<boolean> {
    return getJson(`${service.url}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  it('answers every chat, before, during and after the restart, with events or an error', async () => {
    const before = await openAlice('before');
    const first = await answerTo(before, 'What is 6 * 7?', 'before');
    expect(first.type).toBe('agent_started');
    const firstRun = first.type === 'agent_started' ? first.run_id : '';
    await before.until(() => before.finished(firstRun), 'the first run');
    expectCompletedRun(before.eventsOf(firstRun));

    // Users live in Redis too; keep them as a persistent store would.
    const userKeys = await redis.keys('user*');
    const dumps = await Promise.all(
      userKeys.map(async (key) => [key, await redis.client.dumpBuffer(key)] as const),
    );
    expect(userKeys.length).toBeGreaterThan(0);

    await server.kill();
    // While Redis is down, the live socket stays open, and a chat on it is refused at once,
    // not left hanging.
    const during = await answerTo(before, 'What is 2 + 2?', 'during');
    expect(during).toMatchObject({ type: 'error', code: 'unavailable', ref: 'during' });
    expect(before.closed).toBeUndefined();

    await server.start();
    const restore = new Redis(server.url, { maxRetriesPerRequest: 1 });
    for (const [key, dump] of dumps) if (dump) await restore.restore(key, 0, dump, 'REPLACE');
    await restore.quit();
    await eventually(
      async () => (await ready(stack.auth)) && (await ready(gateway)) && (await ready(worker)),
      'every service to be ready again',
      15_000,
    );

    // Sessions were lost with the old Redis: log in again, with a new ticket.
    const after = await openAlice('after');
    // Recovery: chats are answered (never silence) and, once the bus is back, run. Probe
    // until one runs; every answer meanwhile is an `unavailable` error for that chat.
    let probe = 0;
    let recovered: ServerMessage | undefined;
    for (const deadline = Date.now() + 30_000; !recovered && Date.now() < deadline; ) {
      const ref = `probe-${probe++}`;
      const answer = await answerTo(after, 'What is 1 + 1?', ref);
      if (answer.type === 'agent_started') recovered = answer;
      else expect(answer).toMatchObject({ type: 'error', code: 'unavailable', ref });
    }
    expect(recovered?.type).toBe('agent_started');
    // Recovered: every chat from now on completes. Each run is found by its tool input, as a
    // probe queued before the recovery may start late and be taken for the answer.
    const runOf = (needle: string) =>
      after
        .runIds()
        .find((id) =>
          after
            .eventsOf(id)
            .some((e) => e.type === 'tool_executing' && JSON.stringify(e.input).includes(needle)),
        );
    for (const [i, [content, needle]] of [
      ['What is 6 * 7?', '6 * 7'],
      ['tell me about the weather', 'weather'],
    ].entries()) {
      const answer = await answerTo(after, content, `after-${i}`);
      expect(answer.type).toBe('agent_started');
      await after.until(() => runOf(needle) !== undefined, `the run of after-${i}`);
      const runId = runOf(needle) ?? '';
      await after.until(() => after.finished(runId), 'the run after the restart');
      expectCompletedRun(after.eventsOf(runId));
      expect(after.eventsOf(runId).at(-1)?.type).toBe('agent_completed');
      expect(after.frames.filter((f) => f.type === 'error' && f.ref === `after-${i}`)).toEqual([]);
    }
    expectContractOnly(sockets);
  });
});
