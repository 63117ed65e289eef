import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Inject, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { Logger, LoggerOptions } from 'pino';

/**
 * Logs are for operators: JSON, one line per event, a request id on every
 * line. Secrets are kept out twice over: request serializers log only the
 * method, the path without its query string and the peer address (never
 * headers or bodies), and redaction censors the usual secret fields should
 * one ever be passed by mistake. A test scans real logs to prove it.
 */
export const REDACT_PATHS = [
  'password',
  'ticket',
  'token',
  'access_token',
  'refresh_token',
  'authorization',
  '*.password',
  '*.ticket',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
];

const REQUEST_LOGGER = Symbol('REQUEST_LOGGER');

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** An incoming `X-Request-Id` when it is sane, else a fresh one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID_PATTERN.test(value) ? value : randomUUID();
}

/** The path of a request URL without its query string (which may hold a ticket). */
export function pathOnly(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The id of the request being served, for the lines written while serving
 * it. Read by the logger's mixin only when a line is actually written, so a
 * request that logs nothing costs one store and no child logger.
 */
const requestContext = new AsyncLocalStorage<{ id: string }>();

function requestIdMixin(): object {
  const store = requestContext.getStore();
  return store ? { request_id: store.id } : {};
}

export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin: requestIdMixin,
  };
}

/** A logger for code outside a request (start-up, CLI, WebSocket upgrades). */
export function createLogger(service: string, level = 'info'): Logger {
  return pino(loggerOptions(service, level));
}

/**
 * Routes whose successful requests get no "request completed" line: probes,
 * scrapes and the service-to-service API, which are called far more often
 * than they are worth a line each (the ticket exchange writes its own audit
 * line). Their refusals and errors are still logged.
 */
function isQuietPath(path: string): boolean {
  return path.startsWith('/internal/') || path.startsWith('/health/') || path === '/metrics';
}

// originalUrl: Nest mounts middleware on a path, so express rewrites `url` below it.
type LoggedRequest = IncomingMessage & { id?: string; originalUrl?: string };

/**
 * Per request: the request id (an incoming sane `X-Request-Id`, else a fresh
 * one) on the request, the response header and every line written while
 * serving it; one "request completed" line at info when it finishes, unless
 * the level is off or the route is quiet and the answer a success. Replaces
 * pino-http, which built two child loggers and three listeners per request
 * even when it wrote nothing.
 */
export function requestLogging(logger: Logger) {
  return function logRequest(req: LoggedRequest, res: ServerResponse, next: () => void): void {
    const id = requestIdFrom(req.headers['x-request-id']);
    req.id = id;
    res.setHeader('X-Request-Id', id);
    if (logger.isLevelEnabled('info')) {
      const path = pathOnly(req.originalUrl ?? req.url);
      const quiet = isQuietPath(path);
      const started = Date.now();
      res.once('finish', () => {
        const status = res.statusCode;
        if (quiet && status < 400) return;
        const line = {
          request_id: id,
          req: { method: req.method, path, remote_address: req.socket?.remoteAddress },
          res: { status_code: status },
          responseTime: Date.now() - started,
        };
        if (status >= 500)
          logger.info(
            { ...line, err: { message: `failed with status code ${status}` } },
            'request errored',
          );
        else logger.info(line, 'request completed');
      });
    }
    requestContext.run({ id }, next);
  };
}

@Module({})
class RequestLoggingModule implements NestModule {
  constructor(@Inject(REQUEST_LOGGER) private readonly logger: Logger) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(requestLogging(this.logger)).forRoutes('*');
  }
}

export function loggingModule(service: string, level: string): DynamicModule {
  const logger = createLogger(service, level);
  return {
    module: RequestLoggingModule,
    global: true,
    imports: [
      // nestjs-pino's PinoLogger and Logger write through this one logger; its
      // own pino-http middleware is not registered (no routes).
      LoggerModule.forRoot({ pinoHttp: { logger }, useExisting: true, forRoutes: [] }),
    ],
    providers: [{ provide: REQUEST_LOGGER, useValue: logger }],
    exports: [LoggerModule],
  };
}
