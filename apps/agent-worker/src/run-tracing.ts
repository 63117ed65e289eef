import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { AgentRequest } from '@admitone/agent-events';

/**
 * A run continues the trace of the chat that asked for it: the request's
 * optional `traceparent` (set by the gateway) is the parent of the
 * `agent.run` consumer span, and the run's Redis writes (its events) and log
 * lines happen with that span active. Attributes name the run, never the
 * message text. Without the SDK the tracer is a no-op.
 */
const tracer = trace.getTracer('agent-worker.run');

export async function traceRun<T>(request: AgentRequest, run: () => Promise<T>): Promise<T> {
  const parent = request.traceparent
    ? propagation.extract(ROOT_CONTEXT, { traceparent: request.traceparent })
    : ROOT_CONTEXT;
  const span = tracer.startSpan(
    'agent.run',
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'admitone.run_id': request.run_id,
        'admitone.request_id': request.request_id,
      },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), run);
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'run failed' });
    throw error;
  } finally {
    span.end();
  }
}
