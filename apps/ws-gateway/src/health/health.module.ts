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
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { AuthServiceModule } from '../auth-service/auth-service.module';

/** Ready when auth-service answers and Redis (when configured) does, and not draining. */
@Global()
@Module({
  imports: [AuthServiceModule],
  controllers: [HealthController],
  providers: [
    Readiness,
    {
      provide: HEALTH_CHECKS,
      inject: [REDIS, AuthServiceClient],
      useFactory: (redis: Redis | null, authService: AuthServiceClient): HealthCheck[] => [
        { name: 'auth_service', isUp: () => authService.isReachable() },
        ...(redis ? [{ name: 'redis', isUp: () => isRedisUp(redis) }] : []),
      ],
    },
  ],
  exports: [Readiness],
})
export class HealthModule {}
