import { Global, Module } from '@nestjs/common';
import { createRateLimiter, RateLimiter, REDIS } from '@admitone/service-runtime';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';

/** Rate limits kept in Redis when there is one, so they hold across replicas. */
export const LOGIN_BY_ADDRESS = Symbol('LOGIN_BY_ADDRESS');
export const LOGIN_BY_ACCOUNT = Symbol('LOGIN_BY_ACCOUNT');
export const TICKETS_BY_USER = Symbol('TICKETS_BY_USER');

const limiter = (
  token: symbol,
  name: string,
  pick: (c: AuthConfig) => AuthConfig['LOGIN_RATE_LIMIT'],
) => ({
  provide: token,
  inject: [AUTH_CONFIG, REDIS],
  useFactory: (config: AuthConfig, redis: Redis | null): RateLimiter =>
    createRateLimiter({
      name,
      spec: pick(config),
      redis: redis ?? undefined,
      prefix: config.REDIS_PREFIX,
    }),
});

@Global()
@Module({
  providers: [
    limiter(LOGIN_BY_ADDRESS, 'login-address', (c) => c.LOGIN_RATE_LIMIT),
    limiter(LOGIN_BY_ACCOUNT, 'login-account', (c) => c.LOGIN_RATE_LIMIT),
    limiter(TICKETS_BY_USER, 'tickets-user', (c) => c.TICKET_RATE_LIMIT),
  ],
  exports: [LOGIN_BY_ADDRESS, LOGIN_BY_ACCOUNT, TICKETS_BY_USER],
})
export class RateLimitsModule {}
