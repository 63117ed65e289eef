export * from './lib/protocol';
export * from './lib/close-codes';
export * from './lib/error-codes';
export * from './lib/json';
export * from './lib/server-messages';
export * from './lib/client-messages';
export * from './lib/parse';
export * from './lib/bus';
