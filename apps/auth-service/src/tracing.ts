/**
 * Imported first by main.ts, before any module an instrumentation patches.
 * Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise the SDK
 * is not even loaded, and the code's `@opentelemetry/api` tracers are no-ops.
 * (The standard OTEL_* variables are read by the SDK, not by our config.)
 */
if (process.env['OTEL_EXPORTER_OTLP_ENDPOINT']) {
  const sdk =
    require('@admitone/service-runtime/tracing') as typeof import('@admitone/service-runtime/tracing');
  sdk.startTracing('auth-service');
}

export {};
