import { BUS_KEYS } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  startWorker,
} from '../support/agent-client';
import { AuthStack, loginAs, startAuth, startGateway, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * A worker killed (SIGKILL, no goodbye) with runs in hand: the requests stay
 * pending in the consumer group, a worker started afterwards claims them
 * once they have been idle CLAIM_IDLE_MS, re-runs them, and the idempotent
 * emission lets only the missing events out. The client sees every event of
 * every run exactly once, and no chat goes unanswered.
 */
const WORKER_ENV = { AGENT_STEP_DELAY_MS: '400', CLAIM_IDLE_MS: '1000' };

describe('a worker killed mid-run', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let socket: AgentSocket | undefined;

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startAuth(redis);
    gateway = await startGateway(redis, stack);
  });
  afterAll(async () => {
    closeSockets([socket]);
    await stopAllServices();
    await redis.cleanup();
  });

  it('has its runs completed by another worker, every event_id 1..5 exactly once', async () => {
    const first = await startWorker(redis, { ...WORKER_ENV, WORKER_NAME: 'doomed' });
    const session = await loginAs(stack.auth.url, USERS[0]);
    socket = await AgentSocket.open(gateway.url, await session.ticket(), 'alice');
    const client = socket;

    client.chat('What is 6 * 7?', 'math');
    client.chat('How long is this sentence?', 'text');
    await client.until(
      () =>
        client.runIds().length === 2 &&
        client.runIds().every((id) => client.eventsOf(id).some((e) => e.type === 'agent_thinking')),
      'agent_thinking of both runs',
    );
    await first.stop('SIGKILL');
    const inFlight = client.runIds();
    // Both runs were in the middle: no terminal event yet.
    expect(inFlight.filter((id) => client.finished(id))).toEqual([]);

    // A chat sent while no worker is alive waits in the stream for the next one.
    client.chat('What is 2 + 2?', 'while-down');
    const second = await startWorker(redis, { ...WORKER_ENV, WORKER_NAME: 'rescuer' });

    await client.until(
      () => client.runIds().length === 3 && client.runIds().every((id) => client.finished(id)),
      'all three runs to finish',
      20_000,
    );
    for (const runId of client.runIds()) expectCompletedRun(client.eventsOf(runId));
    const values = client
      .events()
      .filter((e) => e.type === 'tool_completed')
      .map((e) => (e.type === 'tool_completed' ? e.output : undefined));
    expect(values).toEqual(
      expect.arrayContaining([{ value: 42 }, { value: 4 }, expect.objectContaining({ words: 5 })]),
    );
    expect(client.errors()).toEqual([]);

    // The rescuer claimed both abandoned requests; the doomed worker finished nothing.
    const claimed = second
      .logLines()
      .filter((l) => l['msg'] === 'claimed a request abandoned by another worker');
    expect(claimed).toHaveLength(2);
    expect(first.logLines().filter((l) => l['msg'] === 'run finished')).toEqual([]);
    // Each run's event stream holds each event once, and no request is left unanswered.
    for (const runId of client.runIds())
      expect(await redis.client.xlen(`${redis.prefix}${BUS_KEYS.runEvents(runId)}`)).toBe(5);
    const requests = `${redis.prefix}${BUS_KEYS.requests}`;
    const [pending] = (await redis.client.xpending(requests, BUS_KEYS.workersGroup)) as [number];
    expect(pending).toBe(0);
    expect(await redis.client.xlen(requests)).toBe(0);
    expectContractOnly([client]);
  });
});
