import { connectTestRedis, redactRedisUrl, TestRedis } from './redis';

describe('connectTestRedis', () => {
  let a: TestRedis;
  let b: TestRedis;

  beforeAll(async () => {
    a = await connectTestRedis();
    b = await connectTestRedis();
  });
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('gives each test context a prefix of its own named after the test file', () => {
    expect(a.prefix).toMatch(/^test:redis:[0-9a-f]{8}:$/);
    expect(a.prefix).not.toBe(b.prefix);
  });

  it('keeps one context from seeing the keys of another', async () => {
    await a.client.set(`${a.prefix}k`, '1');
    await b.client.set(`${b.prefix}k`, '2');
    expect(await a.keys()).toEqual([`${a.prefix}k`]);
    expect(await b.keys()).toEqual([`${b.prefix}k`]);
  });

  it('deletes every key under its prefix on cleanup', async () => {
    const c = await connectTestRedis('cleanup');
    const probe = await connectTestRedis('probe');
    try {
      await Promise.all(
        Array.from({ length: 1200 }, (_, i) => c.client.set(`${c.prefix}${i}`, 'x')),
      );
      await c.cleanup();
      expect(await probe.client.exists(`${c.prefix}0`, `${c.prefix}1199`)).toBe(0);
    } finally {
      await probe.cleanup();
    }
  });

  it('fails at once with a message naming REDIS_URL when no Redis answers', async () => {
    const started = Date.now();
    await expect(connectTestRedis('x', 'redis://:s3cret@127.0.0.1:1')).rejects.toThrow(
      /No Redis answered at REDIS_URL=redis:\/\/:\*\*\*@127\.0\.0\.1:1/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never puts a password in its messages', () => {
    expect(redactRedisUrl('redis://user:hunter2@h:6379/0')).not.toContain('hunter2');
  });
});
