import { DynamicModule, Module } from '@nestjs/common';
import { loggerOptions, RedisModule } from '@admitone/service-runtime';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { AuthConfig } from '../config/auth-config';
import { AuthConfigModule } from '../config/config.module';
import { AuthMetricsModule } from '../metrics/auth-metrics.module';
import { RateLimitsModule } from '../rate-limits/rate-limits.module';
import { SessionsModule } from '../sessions/sessions.module';

/**
 * The service's own modules, without HTTP, for the users CLI: the same
 * stores, the same revocation publisher, the same audit lines. Stdout carries
 * the CLI's results, so the service's logs go to stderr (synchronously, so
 * none is lost when the CLI exits).
 */
@Module({})
export class CliModule {
  static forRoot(config: AuthConfig, logLevel: string): DynamicModule {
    return {
      module: CliModule,
      imports: [
        AuthConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: [
            loggerOptions('auth-cli', logLevel),
            pino.destination({ dest: 2, sync: true }),
          ],
        }),
        RedisModule.forRoot({ service: 'auth-cli', url: config.REDIS_URL, logLevel: 'silent' }),
        AuthMetricsModule,
        RateLimitsModule,
        SessionsModule,
      ],
    };
  }
}
