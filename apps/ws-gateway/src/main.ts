import './tracing';
import { ConfigError, createLogger, listenSplit, loadConfig } from '@admitone/service-runtime';
import { createGatewayApp } from './bootstrap';
import { GatewayConfig, GatewayConfigSchema } from './config/gateway-config';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(GatewayConfigSchema);
  } catch (error) {
    createLogger('ws-gateway').fatal(
      { problems: (error as ConfigError).problems },
      (error as Error).message,
    );
    process.exit(1);
  }
  const logger = createLogger('ws-gateway', config.LOG_LEVEL);
  if (!config.REDIS_URL) logger.warn('REDIS_URL is unset: in-memory mode, one instance only');
  const app = await createGatewayApp(config);
  // Ports, not paths, are what a platform can keep private (split-listeners.ts).
  const side = config.METRICS_PORT
    ? [{ name: 'metrics', port: config.METRICS_PORT, prefixes: ['/metrics'] }]
    : [];
  await listenSplit(app, config.PORT, config.HOST, side);
  logger.info(
    {
      url: await app.getUrl(),
      ws_path: config.WS_PATH,
      auth_service_url: config.AUTH_SERVICE_URL,
      ...(config.METRICS_PORT ? { metrics_port: config.METRICS_PORT } : {}),
    },
    'ws-gateway listening',
  );
}

main().catch((error: unknown) => {
  createLogger('ws-gateway').fatal(
    { err: error instanceof Error ? error.message : String(error) },
    'ws-gateway failed to start',
  );
  process.exit(1);
});
