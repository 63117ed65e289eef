import Redis from 'ioredis';
import type { Logger } from 'pino';

/**
 * Redis clients that fail fast: with the offline queue off, a command issued
 * while Redis is unreachable errors at once and the request is answered 503
 * `unavailable`, instead of hanging until a client timeout. ioredis keeps
 * reconnecting in the background.
 */
export function createRedisClient(url: string, name: string, logger?: Logger): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  return logDistinctErrors(client, name, 'redis', logger);
}

/** Connects, but lets the service start (not ready) when Redis is down. */
export async function connectRedis(client: Redis, logger?: Logger): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    logger?.error(
      { err: (error as Error).message },
      'redis unreachable at start; retrying in the background',
    );
  }
}

export async function isRedisUp(client: Redis): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * A subscriber connection: unlike command clients it queues SUBSCRIBE until
 * connected and re-subscribes by itself after every reconnect.
 */
export function createSubscriberClient(url: string, name: string, logger?: Logger): Redis {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: true,
    autoResubscribe: true,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  return logDistinctErrors(client, name, 'redis subscriber', logger);
}

/** One log line per distinct failure, not one per reconnect attempt, and one when it recovers. */
function logDistinctErrors(client: Redis, name: string, label: string, logger?: Logger): Redis {
  let lastError = '';
  client.on('error', (error: Error) => {
    if (error.message !== lastError)
      logger?.warn({ redis: name, err: error.message }, `${label} error`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger?.info({ redis: name }, `${label} reconnected`);
    lastError = '';
  });
  return client;
}
