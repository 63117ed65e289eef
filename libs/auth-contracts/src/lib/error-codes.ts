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
  invalid_subject_token: {
    status: 401,
    message: 'The identity provider token is not accepted.',
  },
  ticket_invalid: { status: 403, message: 'The ticket is not valid.' },
  user_disabled: { status: 403, message: 'This account is disabled.' },
  origin_forbidden: { status: 403, message: 'This origin is not allowed.' },
  not_found: { status: 404, message: 'No such resource.' },
  identity_conflict: {
    status: 409,
    message: 'An account with this email exists and is not linked to this identity.',
  },
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

export function isTicketInvalidReason(reason: string): reason is TicketInvalidReason {
  return (TICKET_INVALID_REASONS as readonly string[]).includes(reason);
}

/**
 * Why `POST /auth/token-exchange` refused an identity provider's token
 * (401 `invalid_subject_token`, field `reason`). Each names the check that
 * failed, so the team that owns the provider can act on it; none reveals
 * anything about AdmitOne's accounts.
 */
export const SUBJECT_TOKEN_INVALID_REASONS = [
  'malformed',
  'unknown_issuer',
  'algorithm_not_allowed',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_audience',
  'wrong_issuer',
  'missing_claim',
  'email_not_verified',
] as const;
export type SubjectTokenInvalidReason = (typeof SUBJECT_TOKEN_INVALID_REASONS)[number];

/** Every `reason` an error body may carry. */
export const ERROR_REASONS = [...TICKET_INVALID_REASONS, ...SUBJECT_TOKEN_INVALID_REASONS] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];
