import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule, loggingModule, RedisModule } from '@admitone/service-runtime';
import { AuthServiceClient } from './auth-service/auth-service.client';
import { AuthServiceModule } from './auth-service/auth-service.module';
import { GatewayConfigModule } from './config/config.module';
import { GatewayConfig } from './config/gateway-config';
import { ConnectionsModule } from './connections/connections.module';
import { DrainModule } from './drain/drain.module';
import { EndpointModule } from './endpoint/endpoint.module';
import { GatewayMetricsModule } from './metrics/gateway-metrics';
import { RevocationModule } from './revocation/revocation.module';
import { UpgradeModule } from './upgrade/upgrade.module';

@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        GatewayConfigModule.forRoot(config),
        loggingModule('ws-gateway', config.LOG_LEVEL),
        RedisModule.forRoot({
          service: 'ws-gateway',
          url: config.REDIS_URL,
          logLevel: config.LOG_LEVEL,
        }),
        GatewayMetricsModule,
        HealthModule.forRoot({
          imports: [AuthServiceModule],
          inject: [AuthServiceClient],
          checks: (authService: AuthServiceClient) => [
            { name: 'auth_service', isUp: () => authService.isReachable() },
          ],
        }),
        ConnectionsModule,
        EndpointModule,
        UpgradeModule,
        RevocationModule,
        DrainModule,
      ],
    };
  }
}
