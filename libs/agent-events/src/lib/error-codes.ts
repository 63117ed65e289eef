/**
 * Codes carried by the server's `error` event. `rate_limited`,
 * `reauth_failed` and `unknown_run` are named by the contract; the rest name
 * the ways a frame can be invalid so a client can tell them apart.
 * `too_many_runs` and `busy` refuse a chat at admission (the user already has
 * MAX_RUNS_PER_USER runs in flight; the backlog holds MAX_PENDING_RUNS): the
 * chat was not queued, and the client may retry once a run of its own ended
 * or after a back-off.
 */
export const WS_ERROR_CODES = [
  'invalid_json',
  'invalid_message',
  'unknown_type',
  'message_too_large',
  'rate_limited',
  'reauth_failed',
  'unknown_run',
  'unavailable',
  'too_many_runs',
  'busy',
] as const;
export type WsErrorCode = (typeof WS_ERROR_CODES)[number];
