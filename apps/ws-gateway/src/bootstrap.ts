import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ContractErrorFilter, quietFrameworkLogs } from '@admitone/service-runtime';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { GatewayConfig } from './config/gateway-config';
import { ConnectionRegistry, GATEWAY_LOGGER } from './connections/connection-registry';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { AuthenticatedWsAdapter } from './upgrade/authenticated-ws.adapter';
import { UpgradeGuard } from './upgrade/upgrade-guard';

export async function createGatewayApp(config: GatewayConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), {
    bufferLogs: true,
    // Start-up failures reach main.ts's JSON fatal line instead of Nest's own abort.
    abortOnError: false,
  });
  // Nest's module and route start-up lines at debug: the terminal shows requests and refusals.
  app.useLogger(quietFrameworkLogs(app.get(Logger)));
  app.getHttpAdapter().getInstance().disable('x-powered-by');
  app.useGlobalFilters(new ContractErrorFilter());
  app.useWebSocketAdapter(
    new AuthenticatedWsAdapter(
      app,
      app.get(UpgradeGuard),
      app.get(ConnectionRegistry),
      app.get(GatewayMetrics),
      app.get(GATEWAY_LOGGER),
      config,
    ),
  );
  // Exit 0 once drained: by default Nest re-raises the signal after the hooks,
  // so a clean drain would look like a kill (exit by SIGTERM) to the platform.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  return app;
}
