import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import Redis from 'ioredis';

/**
 * Every test that touches Redis goes through this helper. Each test file
 * gets a key prefix of its own (services take it as REDIS_PREFIX), so files
 * run in parallel against one Redis without seeing each other's keys or
 * pub/sub channels, and everything under the prefix is deleted afterwards.
 * When no Redis answers, it fails at once with a message naming REDIS_URL
 * instead of letting every test time out.
 */
export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';

export interface TestRedis {
  /** The Redis URL the test (and any service it starts) should use. */
  url: string;
  /** Prefix for every key and channel this test file may touch; ends with ':'. */
  prefix: string;
  /** A connected client (no key prefix applied: write `prefix + key`). */
  client: Redis;
  /** Keys currently under the prefix (for assertions). */
  keys(pattern?: string): Promise<string[]>;
  /** Deletes every key under the prefix and disconnects. */
  cleanup(): Promise<void>;
}

export function testRedisUrl(): string {
  return process.env['REDIS_URL'] || DEFAULT_TEST_REDIS_URL;
}

/** The URL with any password replaced, fit for an error message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
export const redactRedisUrl = redactUrl;

export async function connectTestRedis(
  name = testFileName(),
  url = testRedisUrl(),
): Promise<TestRedis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `No Redis answered at REDIS_URL=${redactRedisUrl(url)} (${why}). ` +
        'Start one (redis-server --port 6379) or set REDIS_URL to a reachable Redis.',
    );
  }
  const safeName = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  const prefix = `test:${safeName}:${randomBytes(4).toString('hex')}:`;

  async function keys(pattern = '*'): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(
        cursor,
        'MATCH',
        `${prefix}${pattern}`,
        'COUNT',
        1000,
      );
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  }

  return {
    url,
    prefix,
    client,
    keys,
    async cleanup() {
      if (client.status === 'ready') {
        const all = await keys();
        for (let i = 0; i < all.length; i += 500) await client.unlink(...all.slice(i, i + 500));
        await client.quit();
      } else {
        client.disconnect();
      }
    },
  };
}

/** The running Jest test file's name, for prefixes and database names. */
export function testFileName(): string {
  const path = (
    globalThis as { expect?: { getState?: () => { testPath?: string } } }
  ).expect?.getState?.().testPath;
  return path ? basename(path).replace(/\.(spec|test)\.[jt]s$/, '') : 'anon';
}
