import { REDIS } from '@admitone/service-runtime';
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { MemoryUserStore } from './memory-user-store';
import { RedisUserStore } from './redis-user-store';
import { USER_STORE } from './user-store';
import { UsersService } from './users.service';

@Module({
  providers: [
    {
      provide: USER_STORE,
      inject: [REDIS, AUTH_CONFIG],
      useFactory: (redis: Redis | null, config: AuthConfig) =>
        redis ? new RedisUserStore(redis, config.REDIS_PREFIX) : new MemoryUserStore(),
    },
    UsersService,
  ],
  exports: [UsersService],
})
export class UsersModule {}
