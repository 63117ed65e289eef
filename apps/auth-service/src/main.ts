import { ConfigError, createLogger, loadConfig } from '@admitone/service-runtime';
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
  await app.listen(config.PORT, config.HOST);
  logger.info({ url: await app.getUrl(), node_env: config.NODE_ENV }, 'auth-service listening');
}

main().catch((error: unknown) => {
  createLogger('auth-service').fatal(
    { err: error instanceof Error ? error.message : String(error) },
    'auth-service failed to start',
  );
  process.exit(1);
});
