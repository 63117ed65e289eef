import { BUS_KEYS, ServerMessage } from '@admitone/agent-events';
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
 * Run admission through the real gateway and worker (contract section 4.2):
 * a user over MAX_RUNS_PER_USER gets `error` `too_many_runs` for the chat,
 * with its client_msg_id as `ref`, while another user's chat still runs to
 * the end; every chat that was admitted completes, and an ended run frees its
 * place. A thread_id is the sender's own: the same id from two users names
 * two threads on the bus.
 *
 * A second gateway replica bounds the backlog at MAX_PENDING_RUNS = 2: a
 * third waiting request is refused with `busy`, and the two it holds run.
 *
 * No worker runs until the refusal has been seen, so the admitted runs are
 * certainly still in flight when the extra chat arrives.
 */
const MAX_RUNS_PER_USER = 2;

describe('run admission through the gateway', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  /** A second replica whose backlog bound is two requests. */
  let small: ServiceProcess;
  let worker: ServiceProcess | undefined;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startAuth(redis);
    // The worker starts only once a refusal was seen: no `unavailable` meanwhile.
    [gateway, small] = await Promise.all([
      startGateway(redis, stack, {
        MAX_RUNS_PER_USER: String(MAX_RUNS_PER_USER),
        CHAT_ACK_TIMEOUT_MS: '120000',
      }),
      startGateway(redis, stack, { MAX_PENDING_RUNS: '2', CHAT_ACK_TIMEOUT_MS: '120000' }),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAs(email: string, label: string, on = gateway): Promise<AgentSocket> {
    const session = await loginAs(stack.auth.url, email);
    const socket = await AgentSocket.open(on.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  const errorFor = (ref: string) => (f: ServerMessage) => f.type === 'error' && f.ref === ref;

  it('refuses a chat over MAX_RUNS_PER_USER with too_many_runs, and still runs the other user', async () => {
    const alice = await openAs(USERS[0], 'alice');
    const bob = await openAs(USERS[1], 'bob');

    const refs = ['a-0', 'a-1', 'a-2'];
    for (const ref of refs) alice.chat('What is 6 * 7?', ref);
    await alice.until(() => alice.errors().length >= 1, 'a refusal');
    const refusals = alice.errors();
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ type: 'error', code: 'too_many_runs' });
    const refused = refusals[0].type === 'error' ? refusals[0].ref : undefined;
    expect(refs).toContain(refused);
    bob.chat('What is 2 + 2?', 'b-0');

    // Only now does an agent run: every admitted chat completes, Bob's included.
    worker ??= await startWorker(redis, { AGENT_STEP_DELAY_MS: '20' });
    await alice.until(
      () =>
        alice.runIds().length === MAX_RUNS_PER_USER &&
        alice.runIds().every(alice.finished.bind(alice)),
      "Alice's admitted runs to finish",
      30_000,
    );
    const bobRun = await bob.nextRun([], "Bob's run", 30_000);
    await bob.until(() => bob.finished(bobRun), "Bob's run to finish", 30_000);
    expectCompletedRun(bob.eventsOf(bobRun));
    expect(bob.errors()).toEqual([]);
    for (const runId of alice.runIds()) expectCompletedRun(alice.eventsOf(runId));
    expect(alice.errors()).toHaveLength(1);

    // Her runs ended, so Alice may chat again.
    const known = alice.runIds();
    alice.chat('What is 1 + 1?', 'a-3');
    const again = await alice.nextRun(known, 'a run after the others ended', 30_000);
    await alice.until(() => alice.finished(again), 'that run to finish', 30_000);
    expectCompletedRun(alice.eventsOf(again));
    expect(alice.frames.filter(errorFor('a-3'))).toEqual([]);
    expectContractOnly(sockets);
  });

  it('refuses a chat with busy while MAX_PENDING_RUNS requests wait, and runs every one it accepted', async () => {
    // No worker: what is admitted stays in the backlog.
    await worker?.stop();
    worker = undefined;
    const [carol, dave, erin] = await Promise.all(
      [USERS[2], USERS[3], USERS[4]].map((email) => openAs(email, email, small)),
    );
    const stream = `${redis.prefix}${BUS_KEYS.requests}`;
    carol.chat('What is 6 * 7?', 'c-0');
    dave.chat('What is 2 + 2?', 'd-0');
    await eventually(async () => (await redis.client.xlen(stream)) === 2, 'two queued requests');
    erin.chat('What is 1 + 1?', 'e-0');
    const refusal = await erin.waitFor(errorFor('e-0'), "the refusal of Erin's chat");
    expect(refusal).toMatchObject({ type: 'error', code: 'busy', ref: 'e-0' });

    worker = await startWorker(redis, { AGENT_STEP_DELAY_MS: '20' });
    for (const socket of [carol, dave]) {
      const runId = await socket.nextRun([], `${socket.label}'s queued run`, 30_000);
      await socket.until(() => socket.finished(runId), `${socket.label}'s run to finish`, 30_000);
      expectCompletedRun(socket.eventsOf(runId));
      expect(socket.errors()).toEqual([]);
    }
    // The backlog drained: Erin's retry is admitted and runs.
    await eventually(async () => (await redis.client.xlen(stream)) === 0, 'an empty backlog');
    erin.chat('What is 1 + 1?', 'e-1');
    const retried = await erin.nextRun([], "Erin's retried run", 30_000);
    await erin.until(() => erin.finished(retried), "Erin's run to finish", 30_000);
    expectCompletedRun(erin.eventsOf(retried));
    expect(erin.errors()).toHaveLength(1);
    expectContractOnly(sockets);
  });

  it("keeps a thread_id to its sender: Bob's chat in Alice's thread is Bob's own thread", async () => {
    const alice = await openAs(USERS[0], 'alice-thread');
    const bob = await openAs(USERS[1], 'bob-thread');
    worker ??= await startWorker(redis, { AGENT_STEP_DELAY_MS: '20' });
    const thread = 'shared-thread-name';
    alice.send({ type: 'chat', content: 'What is 3 * 3?', thread_id: thread });
    const aliceRun = await alice.nextRun([], "Alice's run", 30_000);
    await alice.until(() => alice.finished(aliceRun), "Alice's run to finish", 30_000);
    bob.send({ type: 'chat', content: 'What is 4 * 4?', thread_id: thread });
    const bobRun = await bob.nextRun([], "Bob's run", 30_000);
    await bob.until(() => bob.finished(bobRun), "Bob's run to finish", 30_000);

    const threadRuns = (userId: string) =>
      redis.client.zrange(`${redis.prefix}${BUS_KEYS.threadRuns(userId, thread)}`, 0, -1);
    expect(await threadRuns(alice.userId)).toEqual([aliceRun]);
    expect(await threadRuns(bob.userId)).toEqual([bobRun]);
    // Neither socket saw the other's run.
    expect(alice.eventsOf(bobRun)).toEqual([]);
    expect(bob.eventsOf(aliceRun)).toEqual([]);
    expect(alice.eventsOf(aliceRun).every((e) => e.thread_id === thread)).toBe(true);
    expectContractOnly(sockets);
  });
});
