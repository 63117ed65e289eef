import { Module } from '@nestjs/common';
import { createLogger } from '@admitone/service-runtime';
import { AuthServiceModule } from '../auth-service/auth-service.module';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { AgentGateway } from './agent.gateway';
import { ConnectionRegistry, GATEWAY_LOGGER } from './connection-registry';

@Module({
  imports: [AuthServiceModule],
  providers: [
    {
      provide: GATEWAY_LOGGER,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => createLogger('ws-gateway', config.LOG_LEVEL),
    },
    ConnectionRegistry,
    AgentGateway,
  ],
  exports: [ConnectionRegistry, GATEWAY_LOGGER],
})
export class ConnectionsModule {}
