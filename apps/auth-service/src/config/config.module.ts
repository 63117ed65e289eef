import { DynamicModule, Global, Module } from '@nestjs/common';
import { AUTH_CONFIG, AuthConfig } from './auth-config';

/** Makes the configuration validated in main.ts injectable everywhere. */
@Global()
@Module({})
export class AuthConfigModule {
  static forRoot(config: AuthConfig): DynamicModule {
    return {
      module: AuthConfigModule,
      providers: [{ provide: AUTH_CONFIG, useValue: config }],
      exports: [AUTH_CONFIG],
    };
  }
}
