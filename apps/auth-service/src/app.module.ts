import { DynamicModule, Module } from '@nestjs/common';
import { HealthModule, loggingModule, RedisModule } from '@admitone/service-runtime';
import { AuthConfig } from './config/auth-config';
import { AuthConfigModule } from './config/config.module';
import { AccountsDb, isDatabaseUp } from './database/database';
import { ACCOUNTS_DB, DatabaseModule } from './database/database.module';
import { FederationModule } from './federation/federation.module';
import { AuthMetricsModule } from './metrics/auth-metrics.module';
import { RateLimitsModule } from './rate-limits/rate-limits.module';
import { SessionsModule } from './sessions/sessions.module';
import { TicketsModule } from './tickets/tickets.module';

@Module({})
export class AppModule {
  static forRoot(config: AuthConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AuthConfigModule.forRoot(config),
        loggingModule('auth-service', config.LOG_LEVEL),
        RedisModule.forRoot({
          service: 'auth-service',
          url: config.REDIS_URL,
          logLevel: config.LOG_LEVEL,
        }),
        HealthModule.forRoot({
          imports: [DatabaseModule],
          inject: [ACCOUNTS_DB],
          checks: (db: AccountsDb | null) =>
            db ? [{ name: 'database', isUp: () => isDatabaseUp(db) }] : [],
        }),
        AuthMetricsModule,
        RateLimitsModule,
        SessionsModule,
        TicketsModule,
        FederationModule,
      ],
    };
  }
}
