/**
 * Close codes of contract 4.5 as data, with what a client should do on each,
 * so the SDK and the gateway read the same table (Centrifugo keeps its
 * disconnect codes the same way). Every reconnect needs a new ticket:
 * tickets are single use.
 */
export type ClientAction =
  /** Do not reconnect. */
  | 'stop'
  /** Do not reconnect; the user must log in again. */
  | 'login'
  /** Reconnect at once with a new ticket, then `resume`. */
  | 'reconnect_now'
  /** Reconnect with capped exponential backoff and a new ticket. */
  | 'reconnect_backoff';

export interface CloseCodeInfo {
  code: number;
  name: string;
  meaning: string;
  action: ClientAction;
  /** Sent by the server; 1006 is only ever observed by clients. */
  sentByServer: boolean;
}

export const CLOSE_CODES = {
  normal: {
    code: 1000,
    name: 'normal',
    meaning: 'normal closure',
    action: 'stop',
    sentByServer: true,
  },
  going_away: {
    code: 1001,
    name: 'going_away',
    meaning: 'gateway going away',
    action: 'reconnect_now',
    sentByServer: true,
  },
  abnormal: {
    code: 1006,
    name: 'abnormal',
    meaning: 'connection dropped or upgrade refused (browsers cannot see the HTTP status)',
    action: 'reconnect_backoff',
    sentByServer: false,
  },
  policy_violation: {
    code: 1008,
    name: 'policy_violation',
    meaning: 'repeated invalid messages',
    action: 'stop',
    sentByServer: true,
  },
  message_too_big: {
    code: 1009,
    name: 'message_too_big',
    meaning: 'frame too big',
    action: 'stop',
    sentByServer: true,
  },
  internal_error: {
    code: 1011,
    name: 'internal_error',
    meaning: 'internal error (never for auth)',
    action: 'reconnect_backoff',
    sentByServer: true,
  },
  service_restart: {
    code: 1012,
    name: 'service_restart',
    meaning: 'gateway restarting (deploy, scale-in)',
    action: 'reconnect_now',
    sentByServer: true,
  },
  try_again_later: {
    code: 1013,
    name: 'try_again_later',
    meaning: 'overload or slow reader',
    action: 'reconnect_backoff',
    sentByServer: true,
  },
  auth_expired: {
    code: 4401,
    name: 'auth_expired',
    meaning: 'authentication expired',
    action: 'reconnect_now',
    sentByServer: true,
  },
  session_revoked: {
    code: 4403,
    name: 'session_revoked',
    meaning: 'session revoked (logout, user disabled, refresh reuse)',
    action: 'login',
    sentByServer: true,
  },
  rate_limited: {
    code: 4429,
    name: 'rate_limited',
    meaning: 'rate limited',
    action: 'reconnect_backoff',
    sentByServer: true,
  },
} as const satisfies Record<string, CloseCodeInfo>;

export type CloseCodeName = keyof typeof CLOSE_CODES;
export type CloseCode = (typeof CLOSE_CODES)[CloseCodeName]['code'];

const byCode = new Map<number, CloseCodeInfo>(
  Object.values(CLOSE_CODES).map((info) => [info.code, info]),
);

/** What a client should do when closed with `code`; unknown codes back off. */
export function closeCodeInfo(code: number): CloseCodeInfo {
  return (
    byCode.get(code) ?? {
      code,
      name: 'unknown',
      meaning: 'unknown close code',
      action: 'reconnect_backoff',
      sentByServer: false,
    }
  );
}
