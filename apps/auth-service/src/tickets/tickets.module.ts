import { REDIS } from '@admitone/service-runtime';
import { Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { SessionsModule } from '../sessions/sessions.module';
import { MemoryTicketStore } from './memory-ticket-store';
import { RedisTicketStore } from './redis-ticket-store';
import { ServiceCredentialGuard } from './service-credential.guard';
import { TICKET_STORE } from './ticket-store';
import { InternalController, TicketsController } from './tickets.controller';
import { TicketsService } from './tickets.service';

@Module({
  imports: [SessionsModule],
  controllers: [TicketsController, InternalController],
  providers: [
    {
      provide: TICKET_STORE,
      inject: [REDIS, AUTH_CONFIG],
      useFactory: (redis: Redis | null, config: AuthConfig) =>
        redis ? new RedisTicketStore(redis, config.REDIS_PREFIX) : new MemoryTicketStore(),
    },
    TicketsService,
    ServiceCredentialGuard,
  ],
})
export class TicketsModule {}
