import type { IncomingMessage } from 'node:http';
import type { Span } from '@opentelemetry/api';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * The OpenTelemetry SDK, started before anything else is loaded (each app's
 * `tracing.ts` requires this module only when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set, so an untraced process never loads the SDK). The SDK reads the
 * standard OTEL_* variables itself (endpoint, protocol, headers, sampler,
 * batch delays); they are not part of our zod config.
 *
 * The instrumentations patch modules through require hooks, which works
 * because webpack leaves every npm package external (NxAppWebpackPlugin's
 * externalDependencies defaults to 'all'): express, ioredis, pino and http
 * are real `require()` calls at run time. undici reports through
 * diagnostics_channel, bundled or not.
 *
 * Secrets never become attributes:
 * - tickets ride in `?ticket=`: the query is cut from every http URL attribute;
 * - Redis spans carry the command name only, never its arguments (ticket
 *   hashes, session ids, message text);
 * - no instrumentation records headers (Authorization, Sec-WebSocket-Protocol)
 *   or bodies.
 */
const URL_ATTRIBUTES = ['http.url', 'http.target', 'url.full'];

function withoutQuery(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const q = value.indexOf('?');
  return q === -1 ? value : value.slice(0, q);
}

function redactQuery(span: Span): void {
  const attributes = (span as unknown as { attributes?: Record<string, unknown> }).attributes ?? {};
  for (const name of URL_ATTRIBUTES)
    if (typeof attributes[name] === 'string' && String(attributes[name]).includes('?'))
      span.setAttribute(name, withoutQuery(attributes[name]) as string);
  if ('url.query' in attributes) span.setAttribute('url.query', '');
}

const QUIET_PATHS = ['/health/', '/metrics'];

export function startTracing(serviceName: string): NodeSDK {
  // Our metrics are Prometheus and our logs go to stdout: export traces only.
  process.env['OTEL_METRICS_EXPORTER'] ??= 'none';
  process.env['OTEL_LOGS_EXPORTER'] ??= 'none';
  const sdk = new NodeSDK({
    serviceName: process.env['OTEL_SERVICE_NAME'] ?? serviceName,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          QUIET_PATHS.some((p) => (req.url ?? '').startsWith(p)),
        requestHook: (span) => redactQuery(span),
      }),
      new UndiciInstrumentation({ requestHook: (span) => redactQuery(span) }),
      new ExpressInstrumentation(),
      new IORedisInstrumentation({
        requireParentSpan: true,
        dbStatementSerializer: (command) => command,
      }),
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  const stop = () => void sdk.shutdown().catch(() => undefined);
  process.once('beforeExit', stop);
  return sdk;
}
