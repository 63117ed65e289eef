import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  memoryAuthEnv,
} from '../support/agent-client';
import { loginAs, USERS } from '../support/gateway-stack';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/**
 * In-memory mode: no REDIS_URL anywhere. auth-service keeps its stores in
 * memory and the gateway runs the reference agent in-process behind the
 * same agent bus port, so a machine without Redis still answers a chat.
 */
describe('in-memory mode (no Redis)', () => {
  let auth: ServiceProcess;
  let gateway: ServiceProcess;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    const authEnv = await memoryAuthEnv();
    auth = await startService('auth-service', authEnv);
    gateway = await startService('ws-gateway', {
      AUTH_SERVICE_URL: auth.url,
      EXCHANGE_CLIENT_KEY: String(authEnv['EXCHANGE_CLIENT_KEYS']),
      UPGRADE_RATE_LIMIT: '1000/60s',
      AGENT_STEP_DELAY_MS: '10',
    });
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
  });

  async function openAs(email: string, label: string): Promise<AgentSocket> {
    const session = await loginAs(auth.url, email);
    const socket = await AgentSocket.open(gateway.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  it('runs the reference agent in-process: "What is 6 * 7?" completes with 42', async () => {
    const alice = await openAs(USERS[0], 'alice');
    const bob = await openAs(USERS[1], 'bob');
    alice.chat('What is 6 * 7?');
    const runId = await alice.nextRun([]);
    await alice.until(() => alice.finished(runId), 'the run to finish');
    const events = alice.eventsOf(runId);
    expectCompletedRun(events);
    expect(events[3]).toMatchObject({ tool: 'calculator', output: { value: 42 } });
    expect(events[4]).toMatchObject({
      type: 'agent_completed',
      result: expect.stringContaining('42'),
    });

    // The same contract as with Redis: resume replays, other users see nothing.
    const again = await openAs(USERS[0], 'alice-again');
    again.send({ type: 'resume', run_id: runId, after_event_id: 2 });
    await again.until(() => again.finished(runId), 'the replay');
    expect(again.eventsOf(runId)).toEqual(events.slice(2));
    bob.send({ type: 'resume', run_id: runId, client_msg_id: 'peek' });
    await bob.waitFor((f) => f.type === 'error', 'an error');
    expect(bob.errors()).toEqual([expect.objectContaining({ code: 'unknown_run', ref: 'peek' })]);
    expect(bob.events()).toEqual([]);
    expectContractOnly(sockets);
  });
});
