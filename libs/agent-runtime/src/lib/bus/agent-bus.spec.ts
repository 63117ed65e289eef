import { randomUUID } from 'node:crypto';
import {
  AgentEvent,
  AgentEventSchema,
  AgentRequest,
  BUS_KEYS,
  TERMINAL_EVENT_TYPES,
} from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import pino, { Logger } from 'pino';
import { RunContext, runReferenceAgent } from '../reference-agent/reference-agent';
import { Admission, AgentBus } from './agent-bus';
import { MemoryAgentBus } from './memory-agent-bus';
import { RedisAgentBus } from './redis-agent-bus';
import { RedisRequestConsumer } from './redis-request-consumer';
import { redisRunContext } from './redis-run-context';

/**
 * One contract for both adapters of the agent bus, so they cannot drift: the
 * in-memory bus runs the reference agent in-process; the Redis bus is driven
 * by a real worker side (RedisRequestConsumer + runReferenceAgent +
 * redisRunContext) running inside the test against a real Redis.
 */
const STEP_DELAY_MS = 40;
const RETENTION_SECONDS = 120;
const FIVE = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed'];

let redis: TestRedis;
const logLines: Record<string, unknown>[] = [];
const logger: Logger = pino(
  { level: 'info' },
  { write: (line: string) => void logLines.push(JSON.parse(line)) },
);
const extraClients: Redis[] = [];
const buses: RedisAgentBus[] = [];

beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  // A bus quits its own subscriber (so each is closed once, here).
  await Promise.all(buses.map((bus) => bus.close()));
  await Promise.all(extraClients.map((c) => c.quit().catch(() => c.disconnect())));
  await redis.cleanup();
});

async function duplicate(owned = true): Promise<Redis> {
  const client = redis.client.duplicate();
  client.on('error', () => undefined);
  if (owned) extraClients.push(client);
  if (client.status !== 'ready') await client.connect();
  return client;
}

function request(userId: string, content: string): AgentRequest {
  return {
    run_id: randomUUID(),
    thread_id: randomUUID(),
    user_id: userId,
    session_id: `session-of-${userId}`,
    content,
    request_id: randomUUID(),
    requested_at: new Date().toISOString(),
  };
}

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records a listener's events, by run. */
function recorder() {
  const events: AgentEvent[] = [];
  return {
    events,
    listener: (event: AgentEvent) => void events.push(event),
    of: (runId: string) => events.filter((e) => e.run_id === runId),
    finished: (runId: string) =>
      events.some((e) => e.run_id === runId && TERMINAL_EVENT_TYPES.includes(e.type)),
  };
}

interface Harness {
  bus: AgentBus;
  /** Buses of separate gateways (separate Redis connections) sharing one backlog. */
  buses: AgentBus[];
  startAgents(): Promise<void>;
  close(): Promise<void>;
}

/** The worker side of the Redis bus, as apps/agent-worker wires it. */
async function startWorker(
  prefix: string,
  options: { name: string; claimIdleMs?: number; stepDelayMs?: number },
  run: (request: AgentRequest, client: Redis) => Promise<void> = (req, client) =>
    runReferenceAgent(
      req,
      redisRunContext(client, prefix, req, RETENTION_SECONDS),
      options.stepDelayMs ?? STEP_DELAY_MS,
    ),
): Promise<RedisRequestConsumer> {
  const client = await duplicate();
  const consumer = new RedisRequestConsumer(
    client,
    redis.url,
    prefix,
    {
      consumerName: options.name,
      concurrency: 4,
      claimIdleMs: options.claimIdleMs ?? 10_000,
      blockMs: 200,
    },
    logger,
  );
  await consumer.start((req) => run(req, client));
  return consumer;
}

async function redisBus(
  prefix: string,
  options: {
    ownConnection?: boolean;
    retentionSeconds?: number;
    maxRunsPerUser?: number;
    maxPendingRuns?: number;
  } = {},
): Promise<RedisAgentBus> {
  const bus = new RedisAgentBus(
    options.ownConnection ? await duplicate() : redis.client,
    await duplicate(false),
    prefix,
    options.retentionSeconds ?? RETENTION_SECONDS,
    {
      maxRunsPerUser: options.maxRunsPerUser ?? 1000,
      maxPendingRuns: options.maxPendingRuns ?? 100_000,
    },
    logger,
  );
  buses.push(bus);
  return bus;
}

interface HarnessOptions {
  stepDelayMs?: number;
  retentionSeconds?: number;
  maxRunsPerUser?: number;
  maxPendingRuns?: number;
  /** false: admitted runs wait (memory: behind a gate; Redis: no worker) until startAgents(). */
  agentsRunning?: boolean;
}

let harnesses = 0;
const adapters: [string, (options?: HarnessOptions) => Promise<Harness>][] = [
  [
    'MemoryAgentBus',
    async (options = {}) => {
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      if (options.agentsRunning !== false) open();
      const stepDelayMs = options.stepDelayMs ?? STEP_DELAY_MS;
      const bus = new MemoryAgentBus(
        {
          stepDelayMs,
          retentionSeconds: options.retentionSeconds ?? RETENTION_SECONDS,
          maxRunsPerUser: options.maxRunsPerUser ?? 1000,
          maxPendingRuns: options.maxPendingRuns ?? 100_000,
          runAgent: async (req, ctx) => {
            await gate;
            await runReferenceAgent(req, ctx, stepDelayMs);
          },
        },
        logger,
      );
      return {
        bus,
        buses: [bus],
        startAgents: async () => open(),
        close: () => bus.close(),
      };
    },
  ],
  [
    'RedisAgentBus',
    async (options = {}) => {
      const prefix = `${redis.prefix}contract-${++harnesses}:`;
      // Three gateways: each bus has its own command connection, so their scripts really race.
      const all = await Promise.all(
        [1, 2, 3].map(() => redisBus(prefix, { ...options, ownConnection: true })),
      );
      const workers: RedisRequestConsumer[] = [];
      const startAgents = async () => {
        workers.push(
          await startWorker(prefix, {
            name: `contract-worker-${harnesses}`,
            stepDelayMs: options.stepDelayMs,
          }),
        );
      };
      if (options.agentsRunning !== false) await startAgents();
      return {
        bus: all[0],
        buses: all,
        startAgents,
        close: async () => void (await Promise.all(workers.map((w) => w.stop()))),
      };
    },
  ],
];

describe.each(adapters)('AgentBus contract: %s', (_, create) => {
  let harness: Harness;
  let bus: AgentBus;
  const unsubscribes: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    harness = await create();
    bus = harness.bus;
  });
  afterEach(async () => {
    await Promise.all(unsubscribes.splice(0).map((u) => u()));
  });
  afterAll(async () => {
    await harness.close();
  });

  async function subscribe(userId: string) {
    const rec = recorder();
    unsubscribes.push(await bus.subscribeUser(userId, rec.listener));
    return rec;
  }

  it('delivers the five events of a run to a subscriber, in causal order, with event_id 1..5', async () => {
    const user = randomUUID();
    const rec = await subscribe(user);
    const req = request(user, 'What is 6 * 7?');
    await bus.submit(req);
    await until(() => rec.finished(req.run_id), 'the run to finish');
    const events = rec.of(req.run_id);
    expect(events.map((e) => e.type)).toEqual([...FIVE, 'agent_completed']);
    expect(events.map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);
    for (const event of events) {
      expect(AgentEventSchema.safeParse(event).success).toBe(true);
      expect(event).toMatchObject({ run_id: req.run_id, thread_id: req.thread_id });
    }
    expect(events[3]).toMatchObject({ tool: 'calculator', output: { value: 42 } });
    expect(events[4]).toMatchObject({ result: expect.stringContaining('42') });
    const times = events.map((e) => Date.parse(e.ts));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('knows the owner and status of a run: null before, then completed or failed', async () => {
    const user = randomUUID();
    const rec = await subscribe(user);
    const ok = request(user, 'What is 6 * 7?');
    const bad = request(user, 'What is 1/0?');
    expect(await bus.runInfo(ok.run_id)).toBeNull();
    await bus.submit(ok);
    await bus.submit(bad);
    expect(await bus.runInfo(ok.run_id)).toMatchObject({
      user_id: user,
      thread_id: ok.thread_id,
      status: expect.stringMatching(/^(queued|running)$/),
    });
    await until(() => rec.finished(ok.run_id) && rec.finished(bad.run_id), 'both runs to finish');
    expect(await bus.runInfo(ok.run_id)).toEqual({
      user_id: user,
      thread_id: ok.thread_id,
      status: 'completed',
      created_at: ok.requested_at,
    });
    expect(await bus.runInfo(bad.run_id)).toEqual({
      user_id: user,
      thread_id: bad.thread_id,
      status: 'failed',
      created_at: bad.requested_at,
    });
    expect(rec.of(bad.run_id).map((e) => e.type)).toEqual([...FIVE, 'agent_failed']);
  });

  it('replays the retained events after a given event_id, in order', async () => {
    const user = randomUUID();
    const rec = await subscribe(user);
    const req = request(user, 'count these words please');
    await bus.submit(req);
    await until(() => rec.finished(req.run_id), 'the run to finish');
    const replayed = await bus.replay(req.run_id, 2);
    expect(replayed.map((e) => e.event_id)).toEqual([3, 4, 5]);
    expect(await bus.replay(req.run_id, 0)).toEqual(rec.of(req.run_id));
    expect(await bus.replay(req.run_id, 5)).toEqual([]);
    expect(await bus.replay(randomUUID(), 0)).toEqual([]);
  });

  it('stops delivering to a listener once it unsubscribed', async () => {
    const user = randomUUID();
    const witness = await subscribe(user);
    const leaving = recorder();
    const unsubscribe = await bus.subscribeUser(user, leaving.listener);
    const req = request(user, 'What is 2 + 2?');
    await bus.submit(req);
    await until(() => leaving.of(req.run_id).length >= 2, 'two events');
    await unsubscribe();
    const seen = leaving.events.length;
    await until(() => witness.finished(req.run_id), 'the run to finish');
    await sleep(50);
    expect(leaving.events).toHaveLength(seen);
    expect(witness.of(req.run_id).map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);

    const after = request(user, 'What is 3 + 3?');
    await bus.submit(after);
    await until(() => witness.finished(after.run_id), 'the second run to finish');
    expect(leaving.of(after.run_id)).toEqual([]);
  });

  it("never delivers one user's events to another user's listener", async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const a = await subscribe(alice);
    const b = await subscribe(bob);
    const aliceRuns = [request(alice, 'What is 6 * 7?'), request(alice, 'hello from alice')];
    const bobRuns = [request(bob, 'What is 1 + 1?'), request(bob, 'hello from bob')];
    await Promise.all([...aliceRuns, ...bobRuns].map((r) => bus.submit(r)));
    await until(
      () =>
        aliceRuns.every((r) => a.finished(r.run_id)) && bobRuns.every((r) => b.finished(r.run_id)),
      'all four runs to finish',
    );
    const ids = (runs: AgentRequest[]) => new Set(runs.map((r) => r.run_id));
    expect(new Set(a.events.map((e) => e.run_id))).toEqual(ids(aliceRuns));
    expect(new Set(b.events.map((e) => e.run_id))).toEqual(ids(bobRuns));
    expect(a.events).toHaveLength(10);
    expect(b.events).toHaveLength(10);
  });

  it('ends a cancelled run with agent_failed "cancelled" and nothing after it', async () => {
    // Slow steps: the cancel lands while the agent sleeps after agent_thinking, whatever the load.
    const slow = await create({ stepDelayMs: 3000 });
    try {
      const user = randomUUID();
      const rec = recorder();
      unsubscribes.push(await slow.bus.subscribeUser(user, rec.listener));
      const req = request(user, 'What is 6 * 7?');
      expect(await slow.bus.submit(req)).toBe('accepted');
      await until(() => rec.of(req.run_id).length >= 2, 'agent_thinking', 20_000);
      await slow.bus.cancel(req.run_id);
      await until(() => rec.finished(req.run_id), 'the run to end', 20_000);
      await sleep(100);
      const events = rec.of(req.run_id);
      expect(events.map((e) => e.type)).toEqual([
        'agent_started',
        'agent_thinking',
        'agent_failed',
      ]);
      expect(events.at(-1)).toMatchObject({ type: 'agent_failed', error: 'cancelled' });
      expect(events.map((e) => e.event_id)).toEqual([1, 2, 3]);
      expect((await slow.bus.runInfo(req.run_id))?.status).toBe('failed');
    } finally {
      await slow.close();
    }
  });

  it('keeps a thread to its user: the same thread_id of another user is another thread', async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const a = await subscribe(alice);
    const b = await subscribe(bob);
    const thread = randomUUID();
    const first = { ...request(alice, 'What is 1 + 1?'), thread_id: thread };
    const intruder = { ...request(bob, 'What is 2 + 2?'), thread_id: thread };
    const second = { ...request(alice, 'What is 3 + 3?'), thread_id: thread };
    for (const req of [first, intruder, second]) expect(await bus.submit(req)).toBe('accepted');
    await until(
      () => a.finished(first.run_id) && a.finished(second.run_id) && b.finished(intruder.run_id),
      'the three runs to finish',
    );
    expect(await bus.threadRuns(alice, thread)).toEqual([first.run_id, second.run_id]);
    expect(await bus.threadRuns(bob, thread)).toEqual([intruder.run_id]);
    expect(await bus.threadRuns(randomUUID(), thread)).toEqual([]);
    // Bob's run in "the same" thread reached Bob only.
    expect(a.of(intruder.run_id)).toEqual([]);
  });

  describe('admission', () => {
    const accepted = (outcomes: Admission[]) => outcomes.filter((o) => o === 'accepted').length;
    /** Submits every request at once, spread over the buses (separate connections on Redis). */
    const race = (h: Harness, reqs: AgentRequest[]) =>
      Promise.all(reqs.map((req, i) => h.buses[i % h.buses.length].submit(req)));

    it('admits at most MAX_RUNS_PER_USER runs of a user at once, however many chats race', async () => {
      const h = await create({ maxRunsPerUser: 3, agentsRunning: false });
      try {
        const alice = randomUUID();
        const bob = randomUUID();
        const a = recorder();
        const b = recorder();
        unsubscribes.push(await h.bus.subscribeUser(alice, a.listener));
        unsubscribes.push(await h.bus.subscribeUser(bob, b.listener));
        const aliceChats = Array.from({ length: 12 }, (_, i) =>
          request(alice, `What is ${i} + 1?`),
        );
        const outcomes = await race(h, aliceChats);
        expect(accepted(outcomes)).toBe(3);
        expect(outcomes.filter((o) => o === 'too_many_runs')).toHaveLength(9);
        // A refused chat was never queued.
        const refused = aliceChats.filter((_, i) => outcomes[i] !== 'accepted');
        for (const req of refused) expect(await h.bus.runInfo(req.run_id)).toBeNull();
        // Another user is not held back by Alice.
        const bobChat = request(bob, 'What is 6 * 7?');
        expect(await h.buses[h.buses.length - 1].submit(bobChat)).toBe('accepted');

        await h.startAgents();
        const admitted = aliceChats.filter((_, i) => outcomes[i] === 'accepted');
        await until(
          () => admitted.every((r) => a.finished(r.run_id)) && b.finished(bobChat.run_id),
          'every admitted run to finish',
          20_000,
        );
        for (const req of admitted) expect(a.of(req.run_id).at(-1)?.type).toBe('agent_completed');
        for (const req of refused) expect(a.of(req.run_id)).toEqual([]);
        // Ended runs no longer count: Alice may run three again.
        const again = await race(
          h,
          [1, 2, 3].map((i) => request(alice, `What is ${i} * 2?`)),
        );
        expect(again).toEqual(['accepted', 'accepted', 'accepted']);
      } finally {
        await h.close();
      }
    });

    it('refuses with busy at MAX_PENDING_RUNS and runs every request it accepted', async () => {
      const h = await create({ maxPendingRuns: 5, agentsRunning: false });
      try {
        const reqs = Array.from({ length: 20 }, () => request(randomUUID(), 'What is 6 * 7?'));
        const recs = await Promise.all(
          reqs.map(async (req) => {
            const rec = recorder();
            unsubscribes.push(await h.bus.subscribeUser(req.user_id, rec.listener));
            return rec;
          }),
        );
        const outcomes = await race(h, reqs);
        expect(accepted(outcomes)).toBe(5);
        expect(outcomes.filter((o) => o === 'busy')).toHaveLength(15);

        await h.startAgents();
        const admitted = reqs.flatMap((req, i) => (outcomes[i] === 'accepted' ? [i] : []));
        await until(
          () => admitted.every((i) => recs[i].finished(reqs[i].run_id)),
          'every accepted run to finish',
          20_000,
        );
        for (const i of admitted) {
          expect(recs[i].of(reqs[i].run_id).map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);
        }
        // The backlog drains as workers let go of the ended runs: new chats are admitted again.
        const later = request(randomUUID(), 'hello again');
        let outcome = await h.bus.submit(later);
        for (const deadline = Date.now() + 20_000; outcome === 'busy' && Date.now() < deadline; ) {
          await sleep(50);
          outcome = await h.bus.submit(later);
        }
        expect(outcome).toBe('accepted');
      } finally {
        await h.close();
      }
    });

    it('stops counting a run that was abandoned past the retention window', async () => {
      const h = await create({ maxRunsPerUser: 1, retentionSeconds: 1, agentsRunning: false });
      try {
        const user = randomUUID();
        const abandoned = request(user, 'never run');
        expect(await h.bus.submit(abandoned)).toBe('accepted');
        expect(await h.buses.at(-1)?.submit(request(user, 'one too many'))).toBe('too_many_runs');
        for (let i = 0; (await h.bus.runInfo(abandoned.run_id)) !== null; i++) {
          if (i > 200) throw new Error('the run did not age out');
          await sleep(100);
        }
        expect(await h.bus.submit(request(user, 'after the retention window'))).toBe('accepted');
      } finally {
        await h.close();
      }
    });
  });

  it('forgets nothing it was not asked to: cancel of an unknown run is harmless', async () => {
    await expect(bus.cancel(randomUUID())).resolves.toBeUndefined();
    expect(await bus.runInfo(randomUUID())).toBeNull();
  });
});

describe('Memory bus: an agent that throws', () => {
  it('ends the run with agent_failed, so it stops counting against the user', async () => {
    const bus = new MemoryAgentBus(
      {
        stepDelayMs: 0,
        retentionSeconds: RETENTION_SECONDS,
        maxRunsPerUser: 1,
        maxPendingRuns: 10,
        runAgent: async (req, ctx) => {
          await ctx.emit({ type: 'agent_started' });
          if (req.content === 'throw') throw new Error('agent bug');
          await runReferenceAgent(req, ctx, 0);
        },
      },
      logger,
    );
    try {
      const user = randomUUID();
      const rec = recorder();
      await bus.subscribeUser(user, rec.listener);
      const broken = request(user, 'throw');
      expect(await bus.submit(broken)).toBe('accepted');
      await until(() => rec.finished(broken.run_id), 'the broken run to end');
      expect(rec.of(broken.run_id).map((e) => [e.event_id, e.type])).toEqual([
        [1, 'agent_started'],
        [2, 'agent_failed'],
      ]);
      expect(await bus.submit(request(user, 'What is 6 * 7?'))).toBe('accepted');
    } finally {
      await bus.close();
    }
  });
});

describe('Redis bus: exactly once, whatever happens to workers', () => {
  let n = 0;
  /** A key space of its own per test, so no other consumer sees the requests. */
  const freshPrefix = () => `${redis.prefix}only-${++n}:`;

  async function streamLength(key: string): Promise<number> {
    return redis.client.xlen(key);
  }

  it('emits each event_id once when the same request runs twice, in turn or at once', async () => {
    for (const concurrently of [false, true]) {
      const prefix = freshPrefix();
      const bus = await redisBus(prefix);
      const user = randomUUID();
      const rec = recorder();
      await bus.subscribeUser(user, rec.listener);
      const req = request(user, 'What is 6 * 7?');
      // Two workers, each with its own connection, so their scripts really interleave on the server.
      const [one, two] = await Promise.all([duplicate(), duplicate()]);
      const run = (client: Redis) =>
        runReferenceAgent(req, redisRunContext(client, prefix, req, RETENTION_SECONDS), 0);
      if (concurrently) await Promise.all([run(one), run(two)]);
      else {
        await run(one);
        await run(two);
      }
      await until(() => rec.finished(req.run_id), 'the terminal event');
      await sleep(100);
      expect(await streamLength(`${prefix}${BUS_KEYS.runEvents(req.run_id)}`)).toBe(5);
      expect(rec.events.map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);
      expect(await redis.client.hget(`${prefix}${BUS_KEYS.run(req.run_id)}`, 'last_event_id')).toBe(
        '5',
      );
    }
  });

  it('gives a run cancelled between a crash and its re-run exactly one terminal event', async () => {
    const prefix = freshPrefix();
    const bus = await redisBus(prefix);
    const user = randomUUID();
    const rec = recorder();
    await bus.subscribeUser(user, rec.listener);
    const req = request(user, 'What is 6 * 7?');
    const client = await duplicate();
    // The first worker emits three events and dies.
    const real = redisRunContext(client, prefix, req, RETENTION_SECONDS);
    let emitted = 0;
    const crashing: RunContext = {
      ...real,
      async emit(step) {
        if (emitted === 3) throw new Error('worker died');
        emitted += 1;
        await real.emit(step);
      },
    };
    await expect(runReferenceAgent(req, crashing, 0)).rejects.toThrow('worker died');
    await bus.cancel(req.run_id);
    // The re-run now diverges: it stops at its first step with agent_failed.
    await runReferenceAgent(req, redisRunContext(client, prefix, req, RETENTION_SECONDS), 0);
    await until(() => rec.finished(req.run_id), 'the terminal event');
    await sleep(100);
    expect(rec.events.map((e) => [e.event_id, e.type])).toEqual([
      [1, 'agent_started'],
      [2, 'agent_thinking'],
      [3, 'tool_executing'],
      [4, 'agent_failed'],
    ]);
    expect(rec.events[3]).toMatchObject({ error: 'cancelled' });
    expect(await redis.client.hget(`${prefix}${BUS_KEYS.run(req.run_id)}`, 'status')).toBe(
      'failed',
    );
    // And nothing is emitted after a terminal event, whoever tries.
    await runReferenceAgent(req, redisRunContext(client, prefix, req, RETENTION_SECONDS), 0);
    expect(await streamLength(`${prefix}${BUS_KEYS.runEvents(req.run_id)}`)).toBe(4);
  });

  it('lets a second consumer claim a request left pending by one that stopped mid-run', async () => {
    const prefix = freshPrefix();
    const bus = await redisBus(prefix);
    const user = randomUUID();
    const rec = recorder();
    await bus.subscribeUser(user, rec.listener);

    let release: (error: Error) => void = () => undefined;
    const stuck = new Promise<never>((_, reject) => (release = reject));
    stuck.catch(() => undefined);
    let firstStopped: Promise<void> | undefined;
    const handledBy: string[] = [];
    const first: RedisRequestConsumer = await startWorker(
      prefix,
      { name: 'first', claimIdleMs: 300 },
      async (req, client) => {
        handledBy.push('first');
        const real = redisRunContext(client, prefix, req, RETENTION_SECONDS);
        let emitted = 0;
        await runReferenceAgent(
          req,
          {
            ...real,
            async emit(step) {
              if (emitted === 2) {
                // Stops consuming (no more heartbeats or claims) with the run in hand.
                firstStopped = first.stop();
                await stuck;
              }
              emitted += 1;
              await real.emit(step);
            },
          },
          0,
        );
      },
    );

    const req = request(user, 'What is 6 * 7?');
    await bus.submit(req);
    await until(
      () => rec.events.length >= 2 && firstStopped !== undefined,
      'the first consumer to stop',
    );
    expect(await bus.runInfo(req.run_id)).toMatchObject({ status: 'running' });

    const second = await startWorker(prefix, { name: 'second', claimIdleMs: 300 }, (r, client) => {
      handledBy.push('second');
      return runReferenceAgent(r, redisRunContext(client, prefix, r, RETENTION_SECONDS), 0);
    });
    await until(() => rec.finished(req.run_id), 'the claimed run to finish', 20_000);
    await sleep(100);
    expect(rec.events.map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);
    expect(rec.events.map((e) => e.type)).toEqual([...FIVE, 'agent_completed']);
    expect(handledBy).toEqual(['first', 'second']);
    const stream = `${prefix}${BUS_KEYS.requests}`;
    const pending = (await redis.client.xpending(stream, BUS_KEYS.workersGroup)) as [number];
    expect(pending[0]).toBe(0);
    expect(await streamLength(stream)).toBe(0);
    expect(logLines.some((l) => l['msg'] === 'claimed a request abandoned by another worker')).toBe(
      true,
    );

    release(new Error('test over'));
    await firstStopped;
    await second.stop();
  });

  it('drops (acks) malformed requests and keeps consuming', async () => {
    const prefix = freshPrefix();
    const bus = await redisBus(prefix);
    const user = randomUUID();
    const rec = recorder();
    await bus.subscribeUser(user, rec.listener);
    const worker = await startWorker(prefix, { name: 'picky', stepDelayMs: 0 });
    const stream = `${prefix}${BUS_KEYS.requests}`;
    const before = logLines.filter((l) => l['msg'] === 'dropping a malformed agent request').length;

    await redis.client.xadd(stream, '*', 'request', 'not json at all');
    await redis.client.xadd(stream, '*', 'request', JSON.stringify({ run_id: 'x' }));
    await redis.client.xadd(stream, '*', 'something', 'else');
    await redis.client.xadd(
      stream,
      '*',
      'request',
      JSON.stringify({ ...request(user, 'hi'), content: '' }),
    );
    const good = request(user, 'What is 6 * 7?');
    await bus.submit(good);
    await until(() => rec.finished(good.run_id), 'the good run to finish');

    const after = request(user, 'still here?');
    await bus.submit(after);
    await until(() => rec.finished(after.run_id), 'a later run to finish');

    const dropped = logLines.filter((l) => l['msg'] === 'dropping a malformed agent request');
    expect(dropped.length - before).toBe(4);
    const pending = (await redis.client.xpending(stream, BUS_KEYS.workersGroup)) as [number];
    expect(pending[0]).toBe(0);
    expect(await streamLength(stream)).toBe(0);
    await worker.stop();
  });

  it('keeps every accepted request in the stream until a worker handled it: no trimming', async () => {
    const prefix = freshPrefix();
    const limit = 300;
    const bus = await redisBus(prefix, { maxPendingRuns: limit });
    const stream = `${prefix}${BUS_KEYS.requests}`;
    const reqs = Array.from({ length: limit + 20 }, () => request(randomUUID(), 'hello'));
    const outcomes: Admission[] = [];
    for (const req of reqs) outcomes.push(await bus.submit(req));
    expect(outcomes.slice(0, limit).every((o) => o === 'accepted')).toBe(true);
    expect(outcomes.slice(limit).every((o) => o === 'busy')).toBe(true);
    // Nothing unread was dropped: the stream holds exactly the accepted requests, in order.
    const entries = await redis.client.xrange(stream, '-', '+');
    expect(entries.map(([, fields]) => JSON.parse(fields[1]).run_id)).toEqual(
      reqs.slice(0, limit).map((r) => r.run_id),
    );
    // A handled request leaves the stream (XACK and XDEL), and that frees a place.
    const worker = await startWorker(prefix, { name: 'drainer', stepDelayMs: 0 });
    for (let i = 0; (await streamLength(stream)) > 0; i++) {
      if (i > 400) throw new Error('the backlog did not drain');
      await sleep(50);
    }
    await worker.stop();
    expect(await bus.submit(request(randomUUID(), 'room again'))).toBe('accepted');
  });

  it('replays around a malformed event entry instead of failing', async () => {
    const prefix = freshPrefix();
    const bus = await redisBus(prefix);
    const user = randomUUID();
    const req = request(user, 'What is 6 * 7?');
    const client = await duplicate();
    await runReferenceAgent(req, redisRunContext(client, prefix, req, RETENTION_SECONDS), 0);
    await redis.client.xadd(`${prefix}${BUS_KEYS.runEvents(req.run_id)}`, '*', 'event', '{oops');
    expect((await bus.replay(req.run_id, 0)).map((e) => e.event_id)).toEqual([1, 2, 3, 4, 5]);
  });
});
