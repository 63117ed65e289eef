import type Redis from 'ioredis';
import {
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { RateLimitSpec } from '../config/env';

/**
 * One port, two adapters (Redis for replicas, memory for one instance),
 * both backed by rate-limiter-flexible, whose Redis limiter is atomic.
 */
export type RateLimitDecision =
  | { allowed: true; remaining: number }
  | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  consume(key: string): Promise<RateLimitDecision>;
  /** Forgets what `key` consumed: its next window starts from the full allowance. */
  reset(key: string): Promise<void>;
}

class FlexibleRateLimiter implements RateLimiter {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  async consume(key: string): Promise<RateLimitDecision> {
    try {
      const res = await this.limiter.consume(key);
      return { allowed: true, remaining: res.remainingPoints };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return {
          allowed: false,
          retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
        };
      }
      throw rejection;
    }
  }

  async reset(key: string): Promise<void> {
    await this.limiter.delete(key);
  }
}

export function createRateLimiter(options: {
  name: string;
  spec: RateLimitSpec;
  redis?: Redis;
  prefix?: string;
}): RateLimiter {
  const common = {
    keyPrefix: `${options.prefix ?? ''}ratelimit:${options.name}`,
    points: options.spec.points,
    duration: options.spec.durationSeconds,
  };
  return new FlexibleRateLimiter(
    options.redis
      ? new RateLimiterRedis({ ...common, storeClient: options.redis })
      : new RateLimiterMemory(common),
  );
}
