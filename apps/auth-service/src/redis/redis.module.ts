import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import {
  connectRedis,
  createLogger,
  createRedisClient,
  HEALTH_CHECKS,
  HealthCheck,
  isRedisUp,
} from '@admitone/service-runtime';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';

/** The Redis client, or null when REDIS_URL is unset (in-memory stores). */
export const REDIS = Symbol('REDIS');

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AUTH_CONFIG],
      useFactory: async (config: AuthConfig): Promise<Redis | null> => {
        if (!config.REDIS_URL) return null;
        const logger = createLogger('auth-service', config.LOG_LEVEL);
        const client = createRedisClient(config.REDIS_URL, 'auth-service', logger);
        await connectRedis(client, logger);
        return client;
      },
    },
    {
      provide: HEALTH_CHECKS,
      inject: [REDIS],
      useFactory: (redis: Redis | null): HealthCheck[] =>
        redis ? [{ name: 'redis', isUp: () => isRedisUp(redis) }] : [],
    },
  ],
  exports: [REDIS, HEALTH_CHECKS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
