export { startTracing } from './lib/tracing/start-tracing';
