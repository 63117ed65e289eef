import { REDIS } from '@admitone/service-runtime';
import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { KeysModule } from '../keys/keys.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { JwtStrategy } from './jwt.strategy';
import { MemorySessionStore } from './memory-session-store';
import { RedisSessionStore } from './redis-session-store';
import {
  NoChannelRevocationPublisher,
  RedisRevocationPublisher,
  REVOCATION_PUBLISHER,
} from './revocation-publisher';
import { SESSION_STORE } from './session-store';
import { SessionsService } from './sessions.service';

@Module({
  imports: [PassportModule, KeysModule, UsersModule],
  controllers: [AuthController],
  providers: [
    {
      provide: SESSION_STORE,
      inject: [REDIS, AUTH_CONFIG],
      useFactory: (redis: Redis | null, config: AuthConfig) =>
        redis ? new RedisSessionStore(redis, config.REDIS_PREFIX) : new MemorySessionStore(),
    },
    {
      provide: REVOCATION_PUBLISHER,
      inject: [REDIS, AUTH_CONFIG],
      useFactory: (redis: Redis | null, config: AuthConfig) =>
        redis
          ? new RedisRevocationPublisher(redis, config.REDIS_PREFIX)
          : new NoChannelRevocationPublisher(),
    },
    SessionsService,
    JwtStrategy,
  ],
  exports: [SessionsService, UsersModule],
})
export class SessionsModule {}
