/**
 * Codes carried by the server's `error` event. `rate_limited`,
 * `reauth_failed` and `unknown_run` are named by the contract; the rest name
 * the ways a frame can be invalid so a client can tell them apart.
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
] as const;
export type WsErrorCode = (typeof WS_ERROR_CODES)[number];
