/**
 * The closed set of error codes of the wire contract (sections 2 and 3), as
 * data: each code with the HTTP status it is always answered with. A refusal
 * anywhere in the system is built from this table, never from a free string.
 *
 * `not_found` and `internal_error` are not named by the contract; they exist
 * so that even an unknown route or a bug answers with the contract's body.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, message: 'The request is malformed.' },
  unsupported_subprotocol: {
    status: 400,
    message: 'Subprotocols were offered but agent.v1 is not among them.',
  },
  invalid_credentials: { status: 401, message: 'Email or password is wrong.' },
  invalid_refresh_token: { status: 401, message: 'The refresh token is not valid.' },
  refresh_token_reused: {
    status: 401,
    message: 'The refresh token was already used; the session is revoked.',
  },
  invalid_token: { status: 401, message: 'The access token is missing or not valid.' },
  invalid_client: { status: 401, message: 'The service credential is missing or not valid.' },
  ticket_required: { status: 401, message: 'A WebSocket ticket is required.' },
  ticket_invalid: { status: 403, message: 'The ticket is not valid.' },
  origin_forbidden: { status: 403, message: 'This origin is not allowed.' },
  not_found: { status: 404, message: 'No such resource.' },
  rate_limited: { status: 429, message: 'Too many requests; retry later.' },
  internal_error: { status: 500, message: 'Internal error.' },
  unavailable: { status: 503, message: 'Temporarily unavailable; retry later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** Why a ticket exchange was refused (403 `ticket_invalid`, field `reason`). */
export const TICKET_INVALID_REASONS = [
  'unknown_or_expired',
  'already_used',
  'origin_mismatch',
  'session_revoked',
] as const;
export type TicketInvalidReason = (typeof TICKET_INVALID_REASONS)[number];
