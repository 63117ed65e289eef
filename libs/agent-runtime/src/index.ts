export * from './lib/reference-agent/calculator';
export * from './lib/reference-agent/reference-agent';
export * from './lib/bus/agent-bus';
export * from './lib/bus/memory-agent-bus';
export * from './lib/bus/redis-agent-bus';
export * from './lib/bus/redis-run-context';
export * from './lib/bus/redis-request-consumer';
