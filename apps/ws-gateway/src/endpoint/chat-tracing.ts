import { context, propagation, SpanKind, trace } from '@opentelemetry/api';

/**
 * A chat starts its own trace: the `agent.chat` producer span stands for the
 * request put on the bus, and its `traceparent` rides in the request so the
 * worker's run span (and the run's events) continue that trace. Attributes
 * name the run and the request id, never the message text. Without the SDK
 * the span is the API's no-op and no field is added.
 */
const tracer = trace.getTracer('ws-gateway.chat');

export function chatTraceparent(runId: string, requestId: string): { traceparent?: string } {
  const span = tracer.startSpan('agent.chat', {
    kind: SpanKind.PRODUCER,
    attributes: { 'admitone.run_id': runId, 'admitone.request_id': requestId },
  });
  if (!span.isRecording()) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  span.end();
  return carrier['traceparent'] ? { traceparent: carrier['traceparent'] } : {};
}
