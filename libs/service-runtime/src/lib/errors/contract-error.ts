import { ErrorCode, ERROR_CODES, statusOf, ErrorReason } from '@admitone/auth-contracts';

/**
 * The one error type a request handler throws. It carries a code from the
 * contract; the filter turns it into the contract's status and body.
 */
export class ContractError extends Error {
  readonly reason?: ErrorReason;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CODES[code].message,
    details: { reason?: ErrorReason; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'ContractError';
    this.reason = details.reason;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  get status(): number {
    return statusOf(this.code);
  }
}

/**
 * Errors that mean a store (Redis) is unreachable: answered 503 `unavailable`
 * rather than 500, because the client did nothing wrong and may retry.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection in subscriber mode/.test(
      error.message,
    )
  );
}
