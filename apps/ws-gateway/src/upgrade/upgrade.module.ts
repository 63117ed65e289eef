import { Module } from '@nestjs/common';
import { createRateLimiter, REDIS } from '@admitone/service-runtime';
import type Redis from 'ioredis';
import { AuthServiceModule } from '../auth-service/auth-service.module';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { ConnectionsModule } from '../connections/connections.module';
import { UPGRADE_LIMITER, UpgradeGuard } from './upgrade-guard';

@Module({
  imports: [AuthServiceModule, ConnectionsModule],
  providers: [
    {
      provide: UPGRADE_LIMITER,
      inject: [GATEWAY_CONFIG, REDIS],
      useFactory: (config: GatewayConfig, redis: Redis | null) =>
        createRateLimiter({
          name: 'upgrade-address',
          spec: config.UPGRADE_RATE_LIMIT,
          redis: redis ?? undefined,
          prefix: config.REDIS_PREFIX,
        }),
    },
    UpgradeGuard,
  ],
  exports: [UpgradeGuard],
})
export class UpgradeModule {}
