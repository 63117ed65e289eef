import { Module } from '@nestjs/common';
import { AGENT_BUS, AgentBus, MemoryAgentBus, RedisAgentBus } from '@admitone/agent-runtime';
import { createSubscriberClient, REDIS } from '@admitone/service-runtime';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { ConnectionsModule } from '../connections/connections.module';
import { GATEWAY_LOGGER } from '../connections/connection-registry';
import { AgentRelay } from './agent-relay';

/** The agent bus, chosen once at start: Redis with REDIS_URL, the in-process reference agent without. */
@Module({
  imports: [ConnectionsModule],
  providers: [
    {
      provide: AGENT_BUS,
      inject: [GATEWAY_CONFIG, REDIS, GATEWAY_LOGGER],
      useFactory: (config: GatewayConfig, redis: Redis | null, logger: Logger): AgentBus => {
        if (!redis || !config.REDIS_URL) {
          return new MemoryAgentBus(
            {
              stepDelayMs: config.AGENT_STEP_DELAY_MS,
              retentionSeconds: config.RUN_RETENTION_SECONDS,
              maxRunsPerUser: config.MAX_RUNS_PER_USER,
              maxPendingRuns: config.MAX_PENDING_RUNS,
            },
            logger,
          );
        }
        const subscriber = createSubscriberClient(config.REDIS_URL, 'ws-gateway-events', logger);
        return new RedisAgentBus(
          redis,
          subscriber,
          config.REDIS_PREFIX,
          config.RUN_RETENTION_SECONDS,
          { maxRunsPerUser: config.MAX_RUNS_PER_USER, maxPendingRuns: config.MAX_PENDING_RUNS },
          logger,
        );
      },
    },
    AgentRelay,
  ],
  exports: [AGENT_BUS, AgentRelay],
})
export class AgentsModule {}
