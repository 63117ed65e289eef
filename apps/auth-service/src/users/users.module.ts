import { REDIS } from '@admitone/service-runtime';
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import type { AccountsDb } from '../database/database';
import { ACCOUNTS_DB, DatabaseModule } from '../database/database.module';
import { MemoryUserStore } from './memory-user-store';
import { PostgresUserStore } from './postgres-user-store';
import { RedisUserStore } from './redis-user-store';
import { USER_STORE } from './user-store';
import { UsersService } from './users.service';

/**
 * Accounts live in PostgreSQL when DATABASE_URL is set (required in
 * production). Without it, development and tests keep them in Redis (shared
 * by replicas, lost with Redis) or, with no Redis either, in memory.
 */
@Module({
  imports: [DatabaseModule],
  providers: [
    {
      provide: USER_STORE,
      inject: [ACCOUNTS_DB, REDIS, AUTH_CONFIG],
      useFactory: (db: AccountsDb | null, redis: Redis | null, config: AuthConfig) =>
        db
          ? new PostgresUserStore(db)
          : redis
            ? new RedisUserStore(redis, config.REDIS_PREFIX)
            : new MemoryUserStore(),
    },
    UsersService,
  ],
  exports: [UsersService],
})
export class UsersModule {}
