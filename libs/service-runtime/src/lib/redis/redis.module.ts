import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { createLogger } from '../logging/logging';
import { connectRedis, createRedisClient } from './redis-client';

/** The service's Redis client, or null when REDIS_URL is unset (in-memory mode). */
export const REDIS = Symbol('REDIS');

@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis | null) {}

  static forRoot(options: { service: string; url?: string; logLevel: string }): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS,
          useFactory: async (): Promise<Redis | null> => {
            if (!options.url) return null;
            const logger = createLogger(options.service, options.logLevel);
            const client = createRedisClient(options.url, options.service, logger);
            await connectRedis(client, logger);
            return client;
          },
        },
      ],
      exports: [REDIS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.redis) await this.redis.quit().catch(() => this.redis?.disconnect());
  }
}
