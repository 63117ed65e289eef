import { connectTestRedis, TestRedis } from '@admitone/testing';
import Redis from 'ioredis';
import { createRateLimiter, RateLimiter } from './rate-limiter';

/**
 * Races use one Redis connection per contender: on a shared connection the
 * commands are queued one after another and nothing runs concurrently on the
 * server, so the atomicity of the limiter would not be tested.
 */
async function separateConnections(url: string, n: number): Promise<Redis[]> {
  const clients = Array.from({ length: n }, () => new Redis(url, { lazyConnect: true }));
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

/** One suite, both adapters: they cannot drift apart. */
describe.each(['memory', 'redis'] as const)('%s rate limiter', (kind) => {
  let redis: TestRedis;
  let n = 0;
  const make = (points: number, durationSeconds = 60): RateLimiter =>
    createRateLimiter({
      name: `t${n++}`,
      spec: { points, durationSeconds },
      redis: kind === 'redis' ? redis.client : undefined,
      prefix: redis.prefix,
    });

  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(() => redis.cleanup());

  it('allows COUNT attempts in the window, then refuses with a Retry-After within the window', async () => {
    const limiter = make(3, 60);
    for (let i = 0; i < 3; i++) expect((await limiter.consume('k')).allowed).toBe(true);
    const refused = await limiter.consume('k');
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number) });
    if (!refused.allowed) {
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });

  it('counts each key on its own', async () => {
    const limiter = make(1);
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect((await limiter.consume('b')).allowed).toBe(true);
    expect((await limiter.consume('a')).allowed).toBe(false);
  });

  it('allows exactly COUNT of many concurrent attempts', async () => {
    const name = `t${n++}`;
    const clients = kind === 'redis' ? await separateConnections(redis.url, 8) : [undefined];
    try {
      // One limiter per connection, one budget (same name and prefix), as on replicas.
      const limiters = clients.map((client) =>
        createRateLimiter({
          name,
          spec: { points: 5, durationSeconds: 60 },
          redis: client,
          prefix: redis.prefix,
        }),
      );
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => limiters[i % limiters.length].consume('burst')),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
    } finally {
      await Promise.all(clients.map((c) => c?.quit()));
    }
  });

  it('allows again once the window has passed', async () => {
    const limiter = make(1, 1);
    expect((await limiter.consume('w')).allowed).toBe(true);
    expect((await limiter.consume('w')).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await limiter.consume('w')).allowed).toBe(true);
  });
});

describe('redis rate limiter across instances', () => {
  it('shares one budget between two limiters on the same Redis (two replicas)', async () => {
    const redis = await connectTestRedis();
    // Each replica has its own connection, so their commands really race on the server.
    const [clientA, clientB] = await separateConnections(redis.url, 2);
    try {
      const spec = { points: 4, durationSeconds: 60 };
      const a = createRateLimiter({
        name: 'shared',
        spec,
        redis: clientA,
        prefix: redis.prefix,
      });
      const b = createRateLimiter({
        name: 'shared',
        spec,
        redis: clientB,
        prefix: redis.prefix,
      });
      const results = await Promise.all(
        [...Array(5)].flatMap(() => [a.consume('u'), b.consume('u')]),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(4);
    } finally {
      await Promise.all([clientA.quit(), clientB.quit()]);
      await redis.cleanup();
    }
  });
});
