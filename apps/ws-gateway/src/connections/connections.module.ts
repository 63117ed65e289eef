import { Module } from '@nestjs/common';
import { createLogger } from '@admitone/service-runtime';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { ConnectionRegistry, GATEWAY_LOGGER } from './connection-registry';

@Module({
  providers: [
    {
      provide: GATEWAY_LOGGER,
      inject: [GATEWAY_CONFIG],
      useFactory: (config: GatewayConfig) => createLogger('ws-gateway', config.LOG_LEVEL),
    },
    ConnectionRegistry,
  ],
  exports: [ConnectionRegistry, GATEWAY_LOGGER],
})
export class ConnectionsModule {}
