import './tracing';
import {
  ConfigError,
  createLogger,
  listenSplit,
  loadConfig,
  SideListener,
} from '@admitone/service-runtime';
import { AuthConfig, AuthConfigSchema } from './config/auth-config';
import { createAuthApp } from './bootstrap';

async function main(): Promise<void> {
  let config: AuthConfig;
  try {
    config = loadConfig(AuthConfigSchema);
  } catch (error) {
    createLogger('auth-service').fatal(
      { problems: (error as ConfigError).problems },
      (error as Error).message,
    );
    process.exit(1);
  }
  const logger = createLogger('auth-service', config.LOG_LEVEL);
  if (!config.REDIS_URL) logger.warn('REDIS_URL is unset: in-memory stores, one instance only');
  const app = await createAuthApp(config);
  // Ports, not paths, are what a platform can keep private (split-listeners.ts).
  const side: SideListener[] = [];
  if (config.INTERNAL_PORT)
    side.push({ name: 'internal', port: config.INTERNAL_PORT, prefixes: ['/internal'] });
  if (config.METRICS_PORT)
    side.push({ name: 'metrics', port: config.METRICS_PORT, prefixes: ['/metrics', '/docs'] });
  await listenSplit(app, config.PORT, config.HOST, side);
  logger.info(
    {
      url: await app.getUrl(),
      node_env: config.NODE_ENV,
      ...Object.fromEntries(side.map((l) => [`${l.name}_port`, l.port])),
    },
    'auth-service listening',
  );
}

main().catch((error: unknown) => {
  createLogger('auth-service').fatal(
    { err: error instanceof Error ? error.message : String(error) },
    'auth-service failed to start',
  );
  process.exit(1);
});
