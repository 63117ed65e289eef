import type { IncomingMessage } from 'node:http';
import { context, propagation, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { statusOf } from '@admitone/auth-contracts';
import { pathOnly } from '@admitone/service-runtime';
import type { UpgradeDecision } from './upgrade-guard';

/**
 * One upgrade, one trace. The `ws.upgrade` span covers the guard's whole
 * decision; the exchange call made inside it (undici's client span, which
 * injects `traceparent`) is its child, and auth-service's server and Redis
 * spans continue under that. Node's http instrumentation never sees an
 * upgrade (it traces 'request' events only), so the span is made here.
 *
 * Attributes name the path (never the query, which may hold a ticket), the
 * request id and the outcome: never a ticket, a token or a subprotocol offer.
 * Without the SDK the tracer is the API's no-op and this costs nothing.
 */
const tracer = trace.getTracer('ws-gateway.upgrade');

export function startUpgradeSpan(req: IncomingMessage, requestId: string): Span {
  // A proxy's (or Cloud Run's) traceparent makes the upgrade part of its trace.
  const parent = propagation.extract(context.active(), req.headers);
  return tracer.startSpan(
    'ws.upgrade',
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': req.method ?? 'GET',
        'url.path': pathOnly(req.url),
        'admitone.request_id': requestId,
      },
    },
    parent,
  );
}

/** The guard's decision, made with the upgrade span active; the span ends with it. */
export async function traceDecision(
  span: Span,
  decide: () => Promise<UpgradeDecision>,
): Promise<UpgradeDecision> {
  try {
    const decision = await context.with(trace.setSpan(context.active(), span), decide);
    if (decision.ok) span.setAttribute('admitone.upgrade.result', 'accepted');
    else {
      const { code, reason } = decision.refusal;
      const status = statusOf(code);
      span.setAttributes({
        'admitone.upgrade.result': code,
        'http.response.status_code': status,
        ...(reason ? { 'admitone.upgrade.reason': reason } : {}),
      });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    return decision;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'upgrade failed' });
    throw error;
  } finally {
    span.end();
  }
}

/** The upgrade's trace id, for the adapter's log lines (which run outside the span). */
export function traceFields(span: Span): { trace_id?: string } {
  return span.isRecording() ? { trace_id: span.spanContext().traceId } : {};
}
