export * from './lib/error-codes';
export * from './lib/error-body';
export * from './lib/users';
export * from './lib/sessions';
export * from './lib/tickets';
export * from './lib/access-token';
export * from './lib/revocation';
export * from './lib/health';
