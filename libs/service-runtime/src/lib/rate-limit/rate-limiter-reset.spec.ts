import { randomUUID } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { createRateLimiter } from './rate-limiter';

/** reset(), on both adapters: a key starts over, and only that key. */
describe.each(['memory', 'redis'] as const)('%s rate limiter reset', (kind) => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(() => redis.cleanup());

  it('gives a spent key its full allowance back, and leaves other keys spent', async () => {
    const limiter = createRateLimiter({
      name: `reset-${randomUUID().slice(0, 8)}`,
      spec: { points: 2, durationSeconds: 60 },
      redis: kind === 'redis' ? redis.client : undefined,
      prefix: redis.prefix,
    });
    for (const key of ['a', 'b']) {
      for (let i = 0; i < 2; i++) expect((await limiter.consume(key)).allowed).toBe(true);
      expect((await limiter.consume(key)).allowed).toBe(false);
    }
    await limiter.reset('a');
    await limiter.reset('never-used');
    expect(await limiter.consume('a')).toEqual({ allowed: true, remaining: 1 });
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect((await limiter.consume('a')).allowed).toBe(false);
    expect((await limiter.consume('b')).allowed).toBe(false);
  });
});
