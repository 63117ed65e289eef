/**
 * @admitone/client: the browser and Node SDK for the AdmitOne agent.v1
 * WebSocket. See README.md for usage.
 */
export { AgentClient, AgentClientError } from './lib/agent-client';
export type { ChatOptions } from './lib/agent-client';
export type {
  AgentClientEventName,
  AgentClientEvents,
  AgentEventMap,
  AuthFailure,
  ClientLogger,
  ClientState,
  CloseReason,
  CloseReasonName,
  ProtocolError,
  StateChange,
} from './lib/client-types';
export {
  AgentClientOptionsError,
  DEFAULT_BACKOFF,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RENEW_BEFORE_MS,
} from './lib/options/client-options';
export type {
  AgentClientOptions,
  BackoffOptions,
  TicketCarrier,
} from './lib/options/client-options';
export {
  createSharedRefresh,
  DEFAULT_REFRESH_LOCK_NAME,
  webLocks,
} from './lib/auth/shared-refresh';
export type { LockManagerLike, SharedRefreshOptions } from './lib/auth/shared-refresh';
export type { ProviderTokenType } from './lib/auth/provider-session';
export { backoffCeiling, backoffDelay } from './lib/reconnect/backoff';
export type { BackoffConfig } from './lib/reconnect/backoff';
export { decideOnClose } from './lib/reconnect/close-decision';
export type { CloseDecision } from './lib/reconnect/close-decision';
export type { RunCursor } from './lib/runs/run-tracker';
export type {
  FetchLike,
  FetchResponseLike,
  WebSocketConstructor,
  WebSocketLike,
} from './lib/transport/transport-types';
export type { Listener } from './lib/typed-emitter';

/** The wire types an app handles, re-exported so it needs only this package. */
export type {
  AgentEvent,
  AgentEventType,
  ConnectionEstablished,
  ErrorEvent,
  ServerMessage,
  ServerMessageOf,
} from '@admitone/agent-events';
