import { Global, Module } from '@nestjs/common';
import {
  HEALTH_CHECKS,
  HealthCheck,
  HealthController,
  isRedisUp,
  Readiness,
  REDIS,
} from '@admitone/service-runtime';
import type Redis from 'ioredis';

/** Ready when Redis (when configured) answers. */
@Global()
@Module({
  controllers: [HealthController],
  providers: [
    Readiness,
    {
      provide: HEALTH_CHECKS,
      inject: [REDIS],
      useFactory: (redis: Redis | null): HealthCheck[] =>
        redis ? [{ name: 'redis', isUp: () => isRedisUp(redis) }] : [],
    },
  ],
})
export class HealthModule {}
