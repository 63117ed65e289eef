import { ErrorBody, ErrorBodySchema, TicketResponseSchema } from '@admitone/auth-contracts';
import type { FetchLike } from './transport-types';

/**
 * `POST {authUrl}/websocket/ticket` with the app's current access token.
 * The outcome is one of three kinds, because each leads somewhere else:
 * a ticket (connect), `auth_failed` (401/403: no reconnect can succeed, the
 * app must log in again), or `unavailable` (network, 429, 5xx, a body
 * outside the contract: try again later, honouring Retry-After).
 * Neither the token nor the ticket is ever put in an error or a log line.
 */
export type TicketOutcome =
  | { kind: 'ticket'; ticket: string; expiresAt: string }
  | AuthFailedOutcome
  | { kind: 'unavailable'; status?: number; retryAfterMs?: number; detail: string };

/** Which auth-service endpoint refused: the ticket's, or (signing in with a provider token) the session's. */
export type RefusingEndpoint = 'ticket' | 'token_exchange' | 'refresh';

export interface AuthFailedOutcome {
  kind: 'auth_failed';
  endpoint: RefusingEndpoint;
  status: number;
  body?: ErrorBody;
  detail?: string;
}

/**
 * Thrown by a `getAccessToken` of the SDK's own (the provider session) to
 * dictate the outcome: an auth-service refusal while getting the access
 * token is as final as a refused ticket, and a 429 carries its Retry-After.
 * Any other error from getAccessToken is 'unavailable' (try again later).
 */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  constructor(readonly outcome: Exclude<TicketOutcome, { kind: 'ticket' }>) {
    super(outcome.detail ?? outcome.kind);
  }
}

export const TICKET_PATH = '/websocket/ticket';

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function requestTicket(
  authUrl: string,
  getAccessToken: () => string | Promise<string>,
  fetchImpl: FetchLike,
): Promise<TicketOutcome> {
  let token: string;
  try {
    token = await getAccessToken();
  } catch (error) {
    if (error instanceof AccessTokenError) return error.outcome;
    return {
      kind: 'unavailable',
      detail: `getAccessToken failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof token !== 'string' || token.length === 0)
    return { kind: 'auth_failed', endpoint: 'ticket', status: 401 };
  let status: number;
  let text: string;
  let retryAfter: string | null;
  try {
    const res = await fetchImpl(`${authUrl}${TICKET_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    status = res.status;
    retryAfter = res.headers.get('retry-after');
    text = await res.text();
  } catch (error) {
    return {
      kind: 'unavailable',
      detail: `ticket request failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const json = parseJson(text);
  if (status === 401 || status === 403) {
    const body = ErrorBodySchema.safeParse(json);
    return {
      kind: 'auth_failed',
      endpoint: 'ticket',
      status,
      ...(body.success ? { body: body.data } : {}),
    };
  }
  if (status === 200 || status === 201) {
    const ticket = TicketResponseSchema.safeParse(json);
    if (ticket.success)
      return { kind: 'ticket', ticket: ticket.data.ticket, expiresAt: ticket.data.expires_at };
    return { kind: 'unavailable', status, detail: 'ticket response outside the contract' };
  }
  const body = ErrorBodySchema.safeParse(json);
  return {
    kind: 'unavailable',
    status,
    retryAfterMs: retryAfterMs(retryAfter),
    detail: `ticket endpoint answered ${status}${body.success ? ` ${body.data.error}` : ''}`,
  };
}
