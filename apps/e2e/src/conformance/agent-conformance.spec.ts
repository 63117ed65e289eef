import { AgentEvent, BUS_KEYS } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  RUN_EVENT_TYPES,
  sleep,
} from '../support/agent-client';
import { loginAs, Session, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { AGENT_WORKERS, AgentWorkerKind } from './agent-workers';

const otherThan = (kind: AgentWorkerKind) =>
  AGENT_WORKERS.find((k) => k !== kind) as AgentWorkerKind;

/**
 * The conformance run: what any agent implementation on the bus must do,
 * written once and run against every implementation as a real process (the
 * TypeScript agent-worker from dist and the Python admitone worker), each
 * with the real auth-service, two ws-gateway replicas and Redis.
 */
const STEP_MS = 300;

describe.each(AGENT_WORKERS.map((kind) => [kind.name, kind] as const))(
  'agent conformance: %s',
  (_, kind: AgentWorkerKind) => {
    let redis: TestRedis;
    let gateways: ServiceProcess[];
    let alice: Session;
    let bob: Session;
    const sockets: AgentSocket[] = [];
    const workers: ServiceProcess[] = [];

    beforeAll(async () => {
      redis = await connectTestRedis();
      const started = await startStack(redis, {}, [{}, {}]);
      gateways = started.gateways;
      [alice, bob] = await Promise.all([
        loginAs(started.stack.auth.url, USERS[0]),
        loginAs(started.stack.auth.url, USERS[1]),
      ]);
    }, 120_000);
    afterEach(async () => {
      closeSockets(sockets);
      await Promise.all(workers.splice(0).map((w) => w.stop()));
    });
    afterAll(async () => {
      expectContractOnly(sockets);
      await stopAllServices();
      await redis.cleanup();
    });

    async function worker(name: string, env: Record<string, string> = {}, of = kind) {
      const started = await of.start(redis, { WORKER_NAME: name, ...env });
      workers.push(started);
      return started;
    }

    /** What the agent wrote on the bus: the run's event stream holds each event_id 1..5 exactly once. */
    async function expectBusStreamExactlyOnce(runId: string): Promise<void> {
      const entries = await redis.client.xrange(
        `${redis.prefix}${BUS_KEYS.runEvents(runId)}`,
        '-',
        '+',
      );
      const events = entries.map(([, fields]) => JSON.parse(fields[1]) as AgentEvent);
      expect(events.map((e) => `${e.event_id}:${e.type}`)).toEqual(
        RUN_EVENT_TYPES.map((type, i) => `${i + 1}:${type}`),
      );
    }

    async function openAs(session: Session, label: string, gateway = 0): Promise<AgentSocket> {
      const socket = await AgentSocket.open(gateways[gateway].url, await session.ticket(), label);
      sockets.push(socket);
      return socket;
    }

    it('golden path: five events in order, one run_id, to the sender only', async () => {
      await worker('golden');
      const a = await openAs(alice, 'alice');
      const b = await openAs(bob, 'bob', 1);
      a.chat('What is 6 * 7?');
      const runId = await a.nextRun([]);
      await a.until(() => a.finished(runId), 'the run to finish', 30_000);
      expectCompletedRun(a.eventsOf(runId));
      await expectBusStreamExactlyOnce(runId);
      expect(a.runIds()).toEqual([runId]);
      expect(a.eventsOf(runId)[3]).toMatchObject({ type: 'tool_completed', output: { value: 42 } });
      expect(a.eventsOf(runId)[4]).toMatchObject({ result: '6 * 7 = 42' });
      // Bob's socket is live on the other gateway and heard nothing of Alice's run.
      b.send({ type: 'ping', client_msg_id: 'p' });
      await b.waitFor((f) => f.type === 'pong', 'pong');
      expect(b.events()).toEqual([]);
      expect(a.errors()).toEqual([]);
    });

    it('cancel: the run ends with one agent_failed "cancelled", ids without gaps', async () => {
      await worker('canceller', { AGENT_STEP_DELAY_MS: String(STEP_MS) });
      const socket = await openAs(alice, 'alice-cancel');
      socket.chat('What is 6 * 7?');
      const runId = await socket.nextRun([], 'a run', 30_000);
      await socket.until(() => socket.eventsOf(runId).length >= 2, 'event 2', 30_000);
      socket.send({ type: 'cancel', run_id: runId, client_msg_id: 'stop' });
      await socket.until(() => socket.finished(runId), 'the run to end', 30_000);
      await sleep(STEP_MS * 2);
      const events = socket.eventsOf(runId);
      expect(events.at(-1)).toMatchObject({ type: 'agent_failed', error: 'cancelled' });
      expect(
        events.filter((e) => e.type === 'agent_failed' || e.type === 'agent_completed'),
      ).toHaveLength(1);
      expect(events.map((e) => e.event_id)).toEqual(events.map((_, i) => i + 1));
      expect(events.length).toBeLessThan(5);
      expect(socket.errors()).toEqual([]);
    });

    it.each([
      ['another of the same', false],
      ['one of the other implementation', true],
    ])('a worker killed mid-run: %s completes it, every event exactly once', async (_, cross) => {
      const env = { AGENT_STEP_DELAY_MS: '400', CLAIM_IDLE_MS: '1000' };
      const doomed = await worker('doomed', env);
      const socket = await openAs(alice, 'alice-crash');
      socket.chat('What is 6 * 7?', 'math');
      socket.chat('How long is this sentence?', 'text');
      await socket.until(
        () =>
          socket.runIds().length === 2 &&
          socket
            .runIds()
            .every((id) => socket.eventsOf(id).some((e) => e.type === 'agent_thinking')),
        'agent_thinking of both runs',
        30_000,
      );
      await doomed.stop('SIGKILL');
      expect(socket.runIds().filter((id) => socket.finished(id))).toEqual([]);
      const rescuer = await worker('rescuer', env, cross ? otherThan(kind) : kind);
      await socket.until(
        () => socket.runIds().length === 2 && socket.runIds().every((id) => socket.finished(id)),
        'both runs to finish',
        30_000,
      );
      await sleep(500);
      for (const runId of socket.runIds()) {
        expectCompletedRun(socket.eventsOf(runId));
        await expectBusStreamExactlyOnce(runId);
      }
      const claimed = rescuer
        .logLines()
        .filter((l) => l['msg'] === 'claimed a request abandoned by another worker');
      expect(claimed).toHaveLength(2);
      expect(socket.errors()).toEqual([]);
    });

    it('resume on another gateway: the missed events, then the live ones, each exactly once', async () => {
      await worker('resumable', { AGENT_STEP_DELAY_MS: String(STEP_MS) });
      const first = await openAs(alice, 'alice-first', 0);
      first.chat('What is 6 * 7?');
      const runId = await first.nextRun([], 'a run', 30_000);
      await first.until(() => first.eventsOf(runId).length >= 2, 'event 2', 30_000);
      first.terminate();
      const seen = first.eventsOf(runId);
      await sleep(STEP_MS * 1.5);
      const second = await openAs(alice, 'alice-second', 1);
      second.send({ type: 'resume', run_id: runId, after_event_id: seen.at(-1)?.event_id ?? 0 });
      await second.until(() => second.finished(runId), 'the end of the resumed run', 30_000);
      await sleep(STEP_MS);
      const all: AgentEvent[] = [...seen, ...second.eventsOf(runId)];
      expect(all.map((e) => e.event_id).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5]);
      expectCompletedRun([...all].sort((x, y) => x.event_id - y.event_id));
      expect(second.errors()).toEqual([]);
    });

    it('a malformed request in the stream is never run and does not stop the worker', async () => {
      const stream = `${redis.prefix}${BUS_KEYS.requests}`;
      await redis.client.xadd(stream, '*', 'request', 'not json at all');
      await redis.client.xadd(stream, '*', 'request', JSON.stringify({ run_id: 'forged-run' }));
      await redis.client.xadd(stream, '*', 'something', 'else');
      const picky = await worker('picky');
      const socket = await openAs(alice, 'alice-after-garbage');
      socket.chat('What is 2 + 2?');
      const runId = await socket.nextRun([], 'a run', 30_000);
      await socket.until(() => socket.finished(runId), 'the run to finish', 30_000);
      expectCompletedRun(socket.eventsOf(runId));
      expect(picky.child.exitCode).toBeNull();
      expect(
        picky.logLines().filter((l) => l['msg'] === 'dropping a malformed agent request'),
      ).toHaveLength(3);
      expect(await redis.client.exists(`${redis.prefix}${BUS_KEYS.runEvents('forged-run')}`)).toBe(
        0,
      );
      expect(socket.runIds()).toEqual([runId]);
      // Still serving after the garbage: a second chat completes too.
      socket.chat('How long is this sentence?');
      const next = await socket.nextRun([runId], 'another run', 30_000);
      await socket.until(() => socket.finished(next), 'the second run to finish', 30_000);
      expectCompletedRun(socket.eventsOf(next));
    });
  },
);
