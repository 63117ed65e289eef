import { AgentEvent } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  sleep,
  startWorker,
} from '../support/agent-client';
import {
  AuthStack,
  loginAs,
  Session,
  startAuth,
  startGateway,
  USERS,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * A socket dropped mid-run and its replacement: with `resume` from the last
 * event it saw, the client ends up with every event of the run exactly once
 * across both sockets. `resume` and `cancel` answer `unknown_run` for runs
 * that are not the user's, unknown, or (for cancel) already finished.
 */
const STEP_MS = 300;

describe('resume after a dropped socket, and cancel', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let alice: Session;
  let bob: Session;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startAuth(redis);
    [gateway] = await Promise.all([
      startGateway(redis, stack),
      startWorker(redis, { AGENT_STEP_DELAY_MS: String(STEP_MS) }),
    ]);
    [alice, bob] = await Promise.all([
      loginAs(stack.auth.url, USERS[0]),
      loginAs(stack.auth.url, USERS[1]),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    expectContractOnly(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAs(session: Session, label: string): Promise<AgentSocket> {
    // A new ticket from the same access token, as a client reconnecting does.
    const socket = await AgentSocket.open(gateway.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  /** Starts a run from a fresh socket and drops that socket once event 2 arrived. */
  async function runThenDrop(content: string) {
    const first = await openAs(alice, 'alice-first');
    first.chat(content);
    const runId = await first.nextRun([]);
    await first.until(() => first.eventsOf(runId).length >= 2, 'event 2');
    first.terminate();
    const seen = first.eventsOf(runId);
    return { runId, seen, lastSeen: seen[seen.length - 1].event_id };
  }

  function expectExactlyOnce(runId: string, receipts: AgentEvent[][]): void {
    const all = receipts.flat().filter((e) => e.run_id === runId);
    expect(all.map((e) => e.event_id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expectCompletedRun([...all].sort((a, b) => a.event_id - b.event_id));
  }

  it('replays the events missed while disconnected, then the live ones, each exactly once', async () => {
    const { runId, seen, lastSeen } = await runThenDrop('What is 6 * 7?');
    expect(seen.map((e) => e.event_id)).toEqual([1, 2]);
    // Stay away long enough to miss at least one event.
    await sleep(STEP_MS * 1.5);
    const second = await openAs(alice, 'alice-second');
    second.send({ type: 'resume', run_id: runId, after_event_id: lastSeen, client_msg_id: 'r1' });
    await second.until(() => second.finished(runId), 'the end of the resumed run');
    await sleep(STEP_MS);
    expectExactlyOnce(runId, [seen, second.eventsOf(runId)]);
    expect(second.eventsOf(runId).find((e) => e.type === 'agent_completed')).toMatchObject({
      result: expect.stringContaining('42'),
    });
    expect(second.errors()).toEqual([]);
  });

  it('never repeats an event a reconnected socket already got live before its resume', async () => {
    const { runId, seen, lastSeen } = await runThenDrop('What is 2 + 2?');
    const second = await openAs(alice, 'alice-second');
    // The new socket of the same user sees the run live (from event 3 on) before it resumes:
    // it must not be handed events 1 and 2 again, nor the live one a second time.
    await second.until(() => second.eventsOf(runId).length > 0, 'a live event', STEP_MS * 4);
    second.send({ type: 'resume', run_id: runId, after_event_id: lastSeen });
    await second.until(() => second.finished(runId), 'the end of the resumed run');
    await sleep(STEP_MS);
    expectExactlyOnce(runId, [seen, second.eventsOf(runId)]);
    const ids = second.eventsOf(runId).map((e) => e.event_id);
    expect(ids.sort((x, y) => x - y)).toEqual([3, 4, 5]);
  });

  it('resumes a finished run from any point, and from the start', async () => {
    const socket = await openAs(alice, 'alice-replay');
    socket.chat('count my words');
    const runId = await socket.nextRun([]);
    await socket.until(() => socket.finished(runId), 'the run to finish');
    const later = await openAs(alice, 'alice-later');
    later.send({ type: 'resume', run_id: runId, after_event_id: 3 });
    await later.until(() => later.finished(runId), 'the replay');
    expect(later.eventsOf(runId)).toEqual(socket.eventsOf(runId).slice(3));
    const fromStart = await openAs(alice, 'alice-from-start');
    fromStart.send({ type: 'resume', run_id: runId });
    await fromStart.until(() => fromStart.finished(runId), 'the full replay');
    expect(fromStart.eventsOf(runId)).toEqual(socket.eventsOf(runId));
  });

  it("answers resume and cancel of another user's run, or an unknown one, with unknown_run", async () => {
    const a = await openAs(alice, 'alice');
    const b = await openAs(bob, 'bob');
    a.chat('What is 6 * 7?');
    const runId = await a.nextRun([]);
    b.send({ type: 'resume', run_id: runId, after_event_id: 0, client_msg_id: 'steal' });
    b.send({ type: 'cancel', run_id: runId, client_msg_id: 'sabotage' });
    b.send({ type: 'resume', run_id: 'no-such-run', client_msg_id: 'ghost' });
    await b.until(() => b.errors().length === 3, 'three errors');
    expect(b.errors()).toEqual([
      expect.objectContaining({ type: 'error', code: 'unknown_run', ref: 'steal' }),
      expect.objectContaining({ type: 'error', code: 'unknown_run', ref: 'sabotage' }),
      expect.objectContaining({ type: 'error', code: 'unknown_run', ref: 'ghost' }),
    ]);
    // Bob's attempts changed nothing: Alice's run completes, and none of it reached Bob.
    await a.until(() => a.finished(runId), 'the run to finish');
    expectCompletedRun(a.eventsOf(runId));
    expect(b.events()).toEqual([]);
  });

  it('cancels a running run with agent_failed "cancelled"; cancel of a finished run is unknown_run', async () => {
    const socket = await openAs(alice, 'alice-cancel');
    socket.chat('What is 6 * 7?');
    const runId = await socket.nextRun([]);
    await socket.until(() => socket.eventsOf(runId).length >= 2, 'event 2');
    socket.send({ type: 'cancel', run_id: runId, client_msg_id: 'stop' });
    await socket.until(() => socket.finished(runId), 'the run to end');
    await sleep(STEP_MS * 2);
    const events = socket.eventsOf(runId);
    expect(events.at(-1)).toMatchObject({ type: 'agent_failed', error: 'cancelled' });
    expect(
      events.filter((e) => e.type === 'agent_failed' || e.type === 'agent_completed'),
    ).toHaveLength(1);
    expect(events.map((e) => e.event_id)).toEqual(events.map((_, i) => i + 1));
    expect(events.length).toBeLessThan(5);
    expect(socket.errors()).toEqual([]);

    socket.send({ type: 'cancel', run_id: runId, client_msg_id: 'too-late' });
    const error = await socket.waitFor((f) => f.type === 'error', 'an error');
    expect(error).toMatchObject({ code: 'unknown_run', ref: 'too-late' });
    await sleep(100);
    expect(socket.eventsOf(runId)).toEqual(events);
  });
});
