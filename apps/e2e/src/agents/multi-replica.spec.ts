import { AgentEvent, BUS_KEYS } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  startWorker,
} from '../support/agent-client';
import { AuthStack, loginAs, startAuth, startGateway, USERS } from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Two users on two gateway replicas with two workers, all on one Redis: every
 * run completes with its five events in order, a user's events reach every
 * socket of that user on any replica, and none reaches the other user.
 */
const CHATS = ['What is 6 * 7?', 'What is 2 + 2?', 'Please count the words in this sentence'];

describe('agent runs across two gateways and two workers', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateways: ServiceProcess[];
  let workers: ServiceProcess[];
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startAuth(redis);
    [gateways, workers] = await Promise.all([
      Promise.all([startGateway(redis, stack), startGateway(redis, stack)]),
      // One run at a time each, and runs that take a while (5 steps of 200 ms): while one
      // worker holds a run, the next request can only go to the other.
      Promise.all(
        ['worker-1', 'worker-2'].map((name) =>
          startWorker(redis, {
            WORKER_NAME: name,
            WORKER_CONCURRENCY: '1',
            AGENT_STEP_DELAY_MS: '200',
          }),
        ),
      ),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAs(email: string, gateway: ServiceProcess, label: string) {
    const session = await loginAs(stack.auth.url, email);
    const socket = await AgentSocket.open(gateway.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  /** The run of `events` whose tool input names `what` (an expression or the text). */
  function runFor(events: AgentEvent[], what: string): AgentEvent[] {
    const executing = events.find(
      (e) =>
        e.type === 'tool_executing' &&
        JSON.stringify(e.input).includes(what.replace(/^What is (.*)\?$/, '$1')),
    );
    if (!executing) throw new Error(`no run for ${JSON.stringify(what)}`);
    return events.filter((e) => e.run_id === executing.run_id);
  }

  it("completes every run, fans each user's events out to all their sockets, and never crosses users", async () => {
    const [alice, bob] = [USERS[0], USERS[1]];
    const aliceHome = await openAs(alice, gateways[0], 'alice@gw1');
    const aliceAway = await openAs(alice, gateways[1], 'alice@gw2');
    const bobHome = await openAs(bob, gateways[1], 'bob@gw2');
    const bobAway = await openAs(bob, gateways[0], 'bob@gw1');
    expect(aliceHome.userId).toBe(aliceAway.userId);
    expect(bobHome.userId).toBe(bobAway.userId);
    expect(aliceHome.userId).not.toBe(bobHome.userId);

    CHATS.forEach((content, i) => {
      aliceHome.chat(content, `alice-${i}`);
      bobHome.chat(content, `bob-${i}`);
    });
    const allFinished = (s: AgentSocket) =>
      s.runIds().length >= CHATS.length && s.runIds().every((id) => s.finished(id));
    await Promise.all(
      [aliceHome, aliceAway, bobHome, bobAway].map((s) =>
        s.until(() => allFinished(s), 'three finished runs', 40_000),
      ),
    );

    for (const [home, away] of [
      [aliceHome, aliceAway],
      [bobHome, bobAway],
    ]) {
      expect(home.runIds()).toHaveLength(3);
      for (const runId of home.runIds()) {
        expectCompletedRun(home.eventsOf(runId));
        // The other socket of the same user, on the other replica, got the same events, once each.
        expect(away.eventsOf(runId)).toEqual(home.eventsOf(runId));
      }
      expect(new Set(away.runIds())).toEqual(new Set(home.runIds()));
      expect(home.errors()).toEqual([]);
      expect(away.errors()).toEqual([]);

      const math = runFor(home.events(), CHATS[0]);
      expect(math[3]).toMatchObject({ tool: 'calculator', output: { value: 42 } });
      expect(math[4]).toMatchObject({ result: expect.stringContaining('42') });
      const sum = runFor(home.events(), CHATS[1]);
      expect(sum[3]).toMatchObject({ tool: 'calculator', output: { value: 4 } });
      const text = runFor(home.events(), CHATS[2]);
      expect(text[2]).toMatchObject({ tool: 'text_stats' });
      expect(text[3]).toMatchObject({ output: { words: 7 } });
    }

    // Nothing of one user's runs reached the other user's sockets, on either replica.
    const aliceRuns = new Set(aliceHome.runIds());
    const bobRuns = new Set(bobHome.runIds());
    for (const id of aliceRuns) expect(bobRuns.has(id)).toBe(false);
    for (const socket of [bobHome, bobAway])
      expect(socket.events().filter((e) => aliceRuns.has(e.run_id))).toEqual([]);
    for (const socket of [aliceHome, aliceAway])
      expect(socket.events().filter((e) => bobRuns.has(e.run_id))).toEqual([]);

    // ...and the bus agrees on whose run each one is.
    for (const [runs, userId] of [
      [aliceRuns, aliceHome.userId],
      [bobRuns, bobHome.userId],
    ] as const) {
      for (const runId of runs) {
        const owner = await redis.client.hget(`${redis.prefix}${BUS_KEYS.run(runId)}`, 'user_id');
        expect(owner).toBe(userId);
      }
    }

    // Both workers are consumers of one group: every run was handled exactly once between them.
    // A worker logs 'run finished' after publishing the terminal event: wait for the lines.
    const finishedLines = () =>
      workers.map((w) => w.logLines().filter((l) => l['msg'] === 'run finished'));
    await eventually(
      () => finishedLines().flat().length >= aliceRuns.size + bobRuns.size,
      "every run's 'run finished' log line",
      10_000,
    );
    const finishedBy = finishedLines();
    const finished = finishedBy.flat();
    expect(finished.map((l) => l['run_id']).sort()).toEqual([...aliceRuns, ...bobRuns].sort());
    // ...and both did work: each worker finished at least one run, and says so under its name.
    for (const [i, lines] of finishedBy.entries()) {
      expect(lines.length).toBeGreaterThan(0);
      expect(new Set(lines.map((l) => l['worker']))).toEqual(new Set([`worker-${i + 1}`]));
    }
    expectContractOnly(sockets);
  });
});
