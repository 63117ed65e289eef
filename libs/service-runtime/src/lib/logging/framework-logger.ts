import type { LoggerService } from '@nestjs/common';

/**
 * Nest's own start-up lines (each module initialised, each route and message
 * handler mapped, "application started") are framework chatter: at info they
 * bury the lines an operator reads. They go to debug; everything else,
 * including the services' own Nest-logged lines, keeps its level.
 */
export const FRAMEWORK_LOG_CONTEXTS: ReadonlySet<string> = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'WebSocketsController',
  'NestApplication',
]);

export function quietFrameworkLogs(logger: LoggerService): LoggerService {
  const debug = (message: unknown, ...params: unknown[]) =>
    logger.debug ? logger.debug(message, ...params) : undefined;
  return {
    log: (message: unknown, ...params: unknown[]) => {
      const context = params[params.length - 1];
      if (typeof context === 'string' && FRAMEWORK_LOG_CONTEXTS.has(context))
        debug(message, ...params);
      else logger.log(message, ...params);
    },
    error: (message: unknown, ...params: unknown[]) => logger.error(message, ...params),
    warn: (message: unknown, ...params: unknown[]) => logger.warn(message, ...params),
    debug,
    verbose: (message: unknown, ...params: unknown[]) => logger.verbose?.(message, ...params),
    fatal: (message: unknown, ...params: unknown[]) =>
      logger.fatal ? logger.fatal(message, ...params) : logger.error(message, ...params),
  };
}
