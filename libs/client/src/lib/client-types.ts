import type {
  AgentEvent,
  AgentEventType,
  ClientAction,
  ConnectionEstablished,
  ErrorEvent,
  ServerMessage,
  ServerMessageOf,
} from '@admitone/agent-events';
import type { ErrorBody } from '@admitone/auth-contracts';

/**
 * What an app sees of the client: its states, why it left 'open', and the
 * typed events it can subscribe to. Message types come from
 * @admitone/agent-events; nothing here redeclares the wire format.
 */
export type ClientState = 'idle' | 'connecting' | 'open' | 'renewing' | 'reconnecting' | 'closed';

/**
 * Why the client left 'open' (or never got there). `reason` is the close
 * code's name from the contract table (`service_restart`, `auth_expired`,
 * `session_revoked`, `abnormal`, ...) or one of the SDK's own:
 * - `auth_failed`: the ticket endpoint answered 401/403 (the app must log in again);
 * - `closed_by_client`: `close()` was called;
 * - `ticket_unavailable`: the ticket endpoint was unreachable or answered 429/5xx;
 * - `subprotocol_mismatch`: the server did not select agent.v1;
 * - `protocol_error`: the first frame was not connection_established;
 * - `connect_timeout`, `heartbeat_timeout`: the gateway stopped answering;
 * - `connect_failed`: the WebSocket constructor threw (a configuration problem).
 */
export type CloseReasonName =
  | 'auth_failed'
  | 'closed_by_client'
  | 'ticket_unavailable'
  | 'subprotocol_mismatch'
  | 'protocol_error'
  | 'connect_timeout'
  | 'heartbeat_timeout'
  | 'connect_failed'
  | (string & {});

export interface CloseReason {
  reason: CloseReasonName;
  /** The WebSocket close code, when a socket closed (1006 for a drop or a refused upgrade). */
  code?: number;
  /** The contract's meaning of the code (closeCodeInfo), or the SDK's explanation. */
  meaning: string;
  /** What the contract tells a client to do on `code`. */
  action?: ClientAction;
  willReconnect: boolean;
  /** The close reason text the server sent, if any. */
  serverReason?: string;
  /** HTTP status of the ticket endpoint when that decided (auth_failed, ticket_unavailable). */
  status?: number;
  /** On `auth_failed`: the auth-service endpoint that refused (see AuthFailure). */
  endpoint?: AuthFailure['endpoint'];
  /** On `auth_failed`: the contract's error body, e.g. `{error: 'invalid_subject_token', reason: 'expired'}`. */
  body?: ErrorBody;
}

export interface StateChange {
  state: ClientState;
  previous: ClientState;
  /** On 'closed' and 'reconnecting'. */
  reason?: CloseReason;
  /** On 'reconnecting': the attempt number (0 = immediate) and the delay before it. */
  attempt?: number;
  delayMs?: number;
  /** On 'open': until when the connection is authenticated (ISO 8601). */
  authExpiresAt?: string;
}

/** A frame the SDK could not use; the connection carries on. */
export interface ProtocolError {
  code: string;
  message: string;
}

export interface AuthFailure {
  /** HTTP status of the refusing endpoint (400, 401, 403 or 409). */
  status: number;
  /**
   * Which endpoint refused: 'ticket' (`POST /websocket/ticket`, the access
   * token); with `getProviderToken`, 'token_exchange' (`POST
   * /auth/token-exchange`, the provider token) or 'refresh' (`POST
   * /auth/refresh` refusing other than with 401, e.g. 403 user_disabled).
   */
  endpoint: 'ticket' | 'token_exchange' | 'refresh';
  /** The contract's error body (`error`, and `reason` for invalid_subject_token). */
  body?: ErrorBody;
}

/** `console` fits; so does any logger taking `(message, fields)`. */
export interface ClientLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

export type AgentEventMap = { [K in AgentEventType]: ServerMessageOf<K> };

/** Everything `client.on(...)` can subscribe to, with its payload. */
export interface AgentClientEvents extends AgentEventMap {
  connection_established: ConnectionEstablished;
  auth_expiring: ServerMessageOf<'auth_expiring'>;
  reauth_ok: ServerMessageOf<'reauth_ok'>;
  pong: ServerMessageOf<'pong'>;
  /** The server's `error` event (rate_limited, unknown_run, reauth_failed, ...). */
  error: ErrorEvent;
  /** Every agent event of every run, each event_id exactly once, in order. */
  event: AgentEvent;
  /** Every server message the app gets (agent events after de-duplication). */
  message: ServerMessage;
  state: StateChange;
  /** A frame that did not parse with the contract; it was ignored. */
  protocol_error: ProtocolError;
  /** 4403: the session was revoked; the app should go to its login page. */
  session_revoked: CloseReason;
  /** auth-service refused the access token (or, with getProviderToken, the provider token); the app should sign in again. */
  auth_failed: AuthFailure;
}

export type AgentClientEventName = keyof AgentClientEvents;
