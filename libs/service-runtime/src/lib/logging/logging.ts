import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule } from '@nestjs/common';
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

export function loggerOptions(service: string, level: string): LoggerOptions {
  return {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** A logger for code outside a request (start-up, CLI, WebSocket upgrades). */
export function createLogger(service: string, level = 'info'): Logger {
  return pino(loggerOptions(service, level));
}

export function loggingModule(service: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      ...loggerOptions(service, level),
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const id = requestIdFrom(req.headers['x-request-id']);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customAttributeKeys: { reqId: 'request_id' },
      // Puts request_id on every line logged while serving the request, not only the summary.
      quietReqLogger: true,
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string; remoteAddress?: string }) => ({
          method: req.method,
          path: pathOnly(req.url),
          remote_address: req.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ status_code: res.statusCode }),
      },
      autoLogging: {
        ignore: (req: IncomingMessage) => {
          const path = pathOnly(req.url);
          return path.startsWith('/health/') || path === '/metrics';
        },
      },
    },
  });
}
