import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ContractErrorFilter } from '@admitone/service-runtime';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { GatewayConfig } from './config/gateway-config';
import { ConnectionRegistry, GATEWAY_LOGGER } from './connections/connection-registry';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { AuthenticatedWsAdapter } from './upgrade/authenticated-ws.adapter';
import { UpgradeGuard } from './upgrade/upgrade-guard';

export async function createGatewayApp(config: GatewayConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  app.useGlobalFilters(new ContractErrorFilter());
  app.useWebSocketAdapter(
    new AuthenticatedWsAdapter(
      app,
      app.get(UpgradeGuard),
      app.get(ConnectionRegistry),
      app.get(GatewayMetrics),
      app.get(GATEWAY_LOGGER),
    ),
  );
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
