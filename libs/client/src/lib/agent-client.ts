import {
  AgentEvent,
  CancelSchema,
  ChatSchema,
  ClientMessage,
  ConnectionEstablished,
  ErrorEvent,
  parseServerMessage,
  ResumeSchema,
  ServerMessage,
  ServerMessageOf,
  SUBPROTOCOL,
  TICKET_PROTOCOL_PREFIX,
  TICKET_QUERY_PARAM,
} from '@admitone/agent-events';
import type { z } from 'zod';
import type { AgentClientEvents, ClientState, CloseReason, StateChange } from './client-types';
import { ProviderSession } from './auth/provider-session';
import { AgentClientOptions, ResolvedOptions, resolveOptions } from './options/client-options';
import { backoffDelay, immediateDelay } from './reconnect/backoff';
import { decideOnClose } from './reconnect/close-decision';
import { RunCursor, RunTracker } from './runs/run-tracker';
import { AuthFailedOutcome, requestTicket, TicketOutcome } from './transport/ticket-client';
import { SOCKET_OPEN, WebSocketLike } from './transport/transport-types';
import { TypedEmitter } from './typed-emitter';

/**
 * The AdmitOne agent.v1 client: one logical connection that survives
 * gateway restarts, token expiry and network drops.
 *
 * - Connect: a fresh single-use ticket from auth-service (with the app's
 *   current access token), then the upgrade offering `agent.v1` plus the
 *   ticket (as `ticket.<t>` subprotocol, or `?ticket=`); the server must
 *   select `agent.v1` and speak first with `connection_established`.
 * - Renew: on `auth_expiring`, or `renewBeforeMs` ahead of
 *   `auth_expires_at`, a fresh ticket goes out as `reauth`; a
 *   `reauth_failed` is retried once, after which the 4401 close at expiry
 *   triggers an ordinary reconnect.
 * - Reconnect: the close code decides (contract table, see close-decision.ts);
 *   every attempt starts with a fresh ticket, so a refused upgrade (only
 *   1006 to a browser) that was an auth failure is recognised when the
 *   ticket endpoint answers 401/403, and the client stops.
 * - Exactly once: runs in flight are resumed after a reconnect from their
 *   last event_id, and replays are dropped (run-tracker.ts).
 *
 * Every callback that may outlive its socket (timers, ticket requests,
 * socket events) carries the `generation` it was started in and does
 * nothing once the client has moved on.
 */
export class AgentClientError extends Error {
  override readonly name = 'AgentClientError';
  constructor(
    /** `not_open`: no open socket right now; `invalid_message`: the message breaks the contract; `closed`: the client stopped (see `reason`). */
    readonly code: 'not_open' | 'invalid_message' | 'closed',
    message: string,
    readonly reason?: CloseReason,
  ) {
    super(message);
  }
}

export interface ChatOptions {
  threadId?: string;
  /** Echoed as `ref` on any `error` about this message. Generated when absent. */
  clientMsgId?: string;
}

/** A connection that closes within this of opening does not reset the backoff. */
const STABLE_CONNECTION_MS = 1000;
const MAX_REAUTH_TRIES = 2;
const MAX_RETRY_AFTER_MS = 10 * 60_000;

type Timer = ReturnType<typeof setTimeout>;

function randomId(): string {
  const crypto = (globalThis as { crypto?: Partial<Crypto> }).crypto;
  // randomUUID exists only in secure contexts; getRandomValues everywhere.
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || 'message'}: ${issue.message}` : 'invalid';
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: Timer | undefined;
  return Promise.race([
    promise,
    new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms))),
  ]).finally(() => clearTimeout(timer));
}

const noop = () => undefined;

/** What `CloseReason.meaning` says when auth-service refused, by the endpoint that did. */
function refusalMeaning(outcome: AuthFailedOutcome): string {
  const body = outcome.body
    ? ` ${outcome.body.error}${outcome.body.reason ? ` (${outcome.body.reason})` : ''}`
    : '';
  switch (outcome.endpoint) {
    case 'token_exchange':
      return `auth-service refused the provider token (HTTP ${outcome.status}${body}); sign in with the provider again`;
    case 'refresh':
      return `auth-service refused to refresh the session (HTTP ${outcome.status}${body}); sign in again`;
    default:
      return `the ticket endpoint refused the access token (HTTP ${outcome.status}${body}); log in again`;
  }
}

export class AgentClient extends TypedEmitter<AgentClientEvents> {
  private readonly options: ResolvedOptions;
  /** The app's getAccessToken, or the SDK's own session from a provider token. */
  private readonly getAccessToken: () => string | Promise<string>;
  private currentState: ClientState = 'idle';
  private socket?: WebSocketLike;
  private generation = 0;
  private established?: ConnectionEstablished;
  private readonly runs = new RunTracker();
  /** Backoff attempt counter; reset when a connection opens. */
  private attempt = 0;
  /** Consecutive connections that died right after opening: they keep the backoff growing. */
  private quickDrops = 0;
  private openedAt?: number;
  private lastCloseCode?: number;
  private clockSkewMs = 0;
  private authExpiresAtIso?: string;
  private authExpiresAtLocal?: number;
  private renewal?: { tries: number; ref?: string };
  /** The expiry for which renewal was given up (failed twice, or did not extend it). */
  private renewalSettledFor?: string;
  private readonly resumeRefs = new Map<string, string>();
  private lastFrameAt = 0;
  private readonly timers: {
    reconnect?: Timer;
    connect?: Timer;
    renew?: Timer;
    reauthAnswer?: Timer;
    heartbeat?: ReturnType<typeof setInterval>;
  } = {};
  private waiters: Array<{
    resolve(established: ConnectionEstablished): void;
    reject(error: Error): void;
  }> = [];

  constructor(options: AgentClientOptions) {
    const resolved = resolveOptions(options);
    super((event, error) =>
      resolved.logger.error('a handler threw', {
        event,
        error: error instanceof Error ? error.message : String(error),
      }),
    );
    this.options = resolved;
    const identity = resolved.identity;
    this.getAccessToken =
      identity.kind === 'access_token'
        ? identity.getAccessToken
        : new ProviderSession({
            authUrl: resolved.authUrl,
            fetch: resolved.fetch,
            getProviderToken: identity.getProviderToken,
            providerTokenType: identity.providerTokenType,
            // A renewal must find a token that outlives the current one.
            refreshBeforeMs: resolved.renewBeforeMs + resolved.connectTimeoutMs,
          }).getAccessToken;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The current connection's `connection_established`, while open or renewing. */
  get connection(): ConnectionEstablished | undefined {
    return this.established;
  }

  /** The subprotocol the server selected ('agent.v1'), while open or renewing. */
  get protocol(): string | undefined {
    return this.established ? this.socket?.protocol : undefined;
  }

  /** Until when the current connection is authenticated (ISO 8601). */
  get authExpiresAt(): string | undefined {
    return this.established ? this.authExpiresAtIso : undefined;
  }

  /** Runs started and not finished, with the last event_id delivered of each. */
  inFlightRuns(): RunCursor[] {
    return this.runs.inFlightRuns();
  }

  /**
   * Opens the connection. Resolves with `connection_established` once open
   * (retrying transient failures meanwhile); rejects with an
   * AgentClientError (code 'closed', `reason` says why) if the client stops
   * first, e.g. `auth_failed`.
   */
  connect(): Promise<ConnectionEstablished> {
    if (this.currentState === 'closed')
      return Promise.reject(
        new AgentClientError('closed', 'the client is closed; create a new one'),
      );
    if (this.established) return Promise.resolve(this.established);
    const promise = new Promise<ConnectionEstablished>((resolve, reject) =>
      this.waiters.push({ resolve, reject }),
    );
    if (this.currentState === 'idle') {
      this.setState('connecting');
      void this.attemptConnection();
    }
    return promise;
  }

  /** Sends a chat; returns its client_msg_id. The run's events follow on this client. */
  chat(content: string, options: ChatOptions = {}): string {
    const clientMsgId = options.clientMsgId ?? randomId();
    this.sendChecked(ChatSchema, {
      type: 'chat',
      content,
      ...(options.threadId !== undefined ? { thread_id: options.threadId } : {}),
      client_msg_id: clientMsgId,
    });
    return clientMsgId;
  }

  /** Asks the agent to stop a run (answered with agent_failed "cancelled"). Returns the client_msg_id. */
  cancel(runId: string): string {
    const clientMsgId = randomId();
    this.sendChecked(CancelSchema, { type: 'cancel', run_id: runId, client_msg_id: clientMsgId });
    return clientMsgId;
  }

  /**
   * Asks for a run's events after `afterEventId` (default: the last one this
   * client delivered), then its live events. Passing an earlier id replays
   * those events to the app again. The SDK resumes runs in flight by itself
   * after a reconnect; this is for runs it does not know (e.g. after a reload).
   */
  resume(runId: string, afterEventId?: number): string {
    const after = afterEventId ?? this.runs.lastEventId(runId);
    const clientMsgId = randomId();
    this.sendChecked(ResumeSchema, {
      type: 'resume',
      run_id: runId,
      after_event_id: after,
      client_msg_id: clientMsgId,
    });
    this.runs.rewind(runId, after);
    this.resumeRefs.set(clientMsgId, runId);
    return clientMsgId;
  }

  /** Sends an application-level ping (answered with `pong`). */
  ping(): void {
    this.sendMessage({ type: 'ping' });
  }

  /** Closes with 1000 for good: no reconnect, and connect() cannot reopen this client. */
  close(): void {
    this.finish(
      {
        reason: 'closed_by_client',
        code: 1000,
        meaning: 'closed by the application',
        action: 'stop',
        willReconnect: false,
      },
      { code: 1000, text: 'client closed' },
    );
  }

  // ---- connecting -------------------------------------------------------

  private async attemptConnection(): Promise<void> {
    const generation = ++this.generation;
    const outcome = await this.fetchTicket();
    if (generation !== this.generation) return;
    if (outcome.kind === 'auth_failed') {
      const reason: CloseReason = {
        reason: 'auth_failed',
        ...(this.lastCloseCode !== undefined ? { code: this.lastCloseCode } : {}),
        meaning: refusalMeaning(outcome),
        willReconnect: false,
        status: outcome.status,
        endpoint: outcome.endpoint,
        ...(outcome.body ? { body: outcome.body } : {}),
      };
      this.finish(reason);
      this.emit('auth_failed', {
        status: outcome.status,
        endpoint: outcome.endpoint,
        ...(outcome.body ? { body: outcome.body } : {}),
      });
      return;
    }
    if (outcome.kind === 'unavailable') {
      this.options.logger.warn('ticket unavailable', { detail: outcome.detail });
      this.retryLater(
        {
          reason: 'ticket_unavailable',
          meaning: outcome.detail,
          willReconnect: true,
          ...(outcome.status !== undefined ? { status: outcome.status } : {}),
        },
        'backoff',
        outcome.retryAfterMs,
      );
      return;
    }
    this.openSocket(generation, outcome.ticket);
  }

  private fetchTicket(): Promise<TicketOutcome> {
    const { authUrl, fetch, connectTimeoutMs } = this.options;
    return withTimeout(
      requestTicket(authUrl, this.getAccessToken, fetch),
      connectTimeoutMs,
      () => ({
        kind: 'unavailable',
        detail: `no ticket within ${connectTimeoutMs} ms`,
      }),
    );
  }

  private openSocket(generation: number, ticket: string): void {
    const url = new URL(this.options.gatewayUrl);
    let protocols: string[];
    if (this.options.carrier === 'query') {
      url.searchParams.set(TICKET_QUERY_PARAM, ticket);
      protocols = [SUBPROTOCOL];
    } else {
      protocols = [SUBPROTOCOL, `${TICKET_PROTOCOL_PREFIX}${ticket}`];
    }
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocket(url.toString(), protocols);
    } catch (error) {
      // Only a configuration problem (mixed content, a bad URL) throws here; retrying cannot help.
      // The message may quote the URL, which carries the ticket with the query carrier.
      const detail = (error instanceof Error ? error.message : String(error))
        .split(ticket)
        .join('[ticket]');
      this.finish({
        reason: 'connect_failed',
        meaning: `the WebSocket could not be created: ${detail}`,
        willReconnect: false,
      });
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    this.options.logger.debug('connecting', {
      gateway: this.options.gatewayUrl,
      carrier: this.options.carrier,
    });
    this.timers.connect = setTimeout(
      () =>
        this.abandon(generation, {
          reason: 'connect_timeout',
          meaning: `no connection_established within ${this.options.connectTimeoutMs} ms`,
          willReconnect: true,
        }),
      this.options.connectTimeoutMs,
    );
    socket.onopen = () => {
      if (generation !== this.generation) return;
      if (socket.protocol !== SUBPROTOCOL)
        this.abandon(generation, {
          reason: 'subprotocol_mismatch',
          meaning: `the server selected '${socket.protocol}', not '${SUBPROTOCOL}'`,
          willReconnect: false,
        });
    };
    socket.onmessage = (event) => {
      if (generation === this.generation) this.onFrame(generation, event.data);
    };
    socket.onclose = (event) => {
      if (generation === this.generation) this.onSocketClosed(event.code, event.reason);
    };
    socket.onerror = () => {
      // A close event follows with the code; the error itself carries nothing more in browsers.
    };
  }

  // ---- frames -----------------------------------------------------------

  private onFrame(generation: number, data: unknown): void {
    this.lastFrameAt = Date.now();
    if (typeof data !== 'string') {
      this.protocolError('invalid_message', 'binary frame; agent.v1 frames are UTF-8 JSON text');
      return;
    }
    const parsed = parseServerMessage(data);
    if (!parsed.ok) {
      this.protocolError(parsed.error.code, parsed.error.message);
      return;
    }
    const message = parsed.message;
    if (!this.established) {
      if (message.type === 'connection_established') return this.onEstablished(message);
      this.protocolError('invalid_message', `first frame was ${message.type}`);
      this.abandon(generation, {
        reason: 'protocol_error',
        meaning: `the server's first frame was ${message.type}, not connection_established`,
        willReconnect: true,
      });
      return;
    }
    this.dispatch(message);
  }

  private dispatch(message: ServerMessage): void {
    switch (message.type) {
      case 'connection_established':
        this.protocolError('invalid_message', 'connection_established on an open connection');
        return;
      case 'auth_expiring':
        this.emitMessage('auth_expiring', message);
        void this.renew();
        return;
      case 'reauth_ok':
        this.onReauthOk(message);
        this.emitMessage('reauth_ok', message);
        return;
      case 'error':
        this.onServerError(message);
        this.emitMessage('error', message);
        return;
      case 'pong':
        this.emitMessage('pong', message);
        return;
      default: {
        const event: AgentEvent = message;
        if (!this.runs.accept(event)) {
          this.options.logger.debug('dropped a replayed event', {
            run_id: event.run_id,
            event_id: event.event_id,
          });
          return;
        }
        this.emit(event.type, event as never);
        this.emit('event', event);
        this.emit('message', event);
      }
    }
  }

  private emitMessage<K extends 'auth_expiring' | 'reauth_ok' | 'error' | 'pong'>(
    type: K,
    message: ServerMessageOf<K>,
  ): void {
    this.emit(type, message as AgentClientEvents[K]);
    this.emit('message', message);
  }

  private protocolError(code: string, message: string): void {
    this.options.logger.warn('protocol error', { code, message });
    this.emit('protocol_error', { code, message });
  }

  private onEstablished(message: ConnectionEstablished): void {
    clearTimeout(this.timers.connect);
    this.established = message;
    this.openedAt = Date.now();
    this.attempt = 0;
    this.lastCloseCode = undefined;
    this.clockSkewMs = Date.parse(message.server_time) - Date.now();
    this.setAuthExpiry(message.auth_expires_at);
    this.setState('open', { authExpiresAt: message.auth_expires_at });
    this.startHeartbeat(message.heartbeat_interval_ms);
    this.scheduleRenewal();
    for (const { runId, lastEventId } of this.runs.inFlightRuns()) {
      const ref = randomId();
      this.resumeRefs.set(ref, runId);
      this.trySend({
        type: 'resume',
        run_id: runId,
        after_event_id: lastEventId,
        client_msg_id: ref,
      });
      this.options.logger.info('resuming run', { run_id: runId, after_event_id: lastEventId });
    }
    this.emit('connection_established', message);
    this.emit('message', message);
    for (const waiter of this.waiters.splice(0)) waiter.resolve(message);
  }

  private onServerError(message: ErrorEvent): void {
    const ref = message.ref;
    if (ref === undefined) return;
    if (message.code === 'reauth_failed' && this.renewal?.ref === ref) {
      clearTimeout(this.timers.reauthAnswer);
      void this.renewalFailed(message.message, true);
      return;
    }
    const runId = this.resumeRefs.get(ref);
    if (runId !== undefined) {
      this.resumeRefs.delete(ref);
      if (message.code === 'unknown_run') this.runs.forget(runId);
    }
  }

  // ---- renewal ----------------------------------------------------------

  private setAuthExpiry(iso: string): void {
    this.authExpiresAtIso = iso;
    this.authExpiresAtLocal = Date.parse(iso) - this.clockSkewMs;
  }

  /** Renew `renewBeforeMs` ahead of expiry; a lifetime shorter than that renews at half-life. */
  private scheduleRenewal(): void {
    clearTimeout(this.timers.renew);
    if (this.authExpiresAtLocal === undefined) return;
    const remaining = this.authExpiresAtLocal - Date.now();
    const lead = this.options.renewBeforeMs;
    const delay = remaining > lead ? remaining - lead : Math.max(0, remaining / 2);
    this.timers.renew = setTimeout(() => void this.renew(), delay);
  }

  private async renew(): Promise<void> {
    if (this.currentState !== 'open' || this.renewal) return;
    if (this.renewalSettledFor === this.authExpiresAtIso) return;
    clearTimeout(this.timers.renew);
    this.renewal = { tries: 0 };
    this.setState('renewing');
    await this.sendReauth();
  }

  private async sendReauth(): Promise<void> {
    const renewal = this.renewal;
    if (!renewal) return;
    const generation = this.generation;
    renewal.tries += 1;
    const outcome = await this.fetchTicket();
    if (generation !== this.generation || this.renewal !== renewal) return;
    if (outcome.kind !== 'ticket') {
      const detail = outcome.kind === 'auth_failed' ? refusalMeaning(outcome) : outcome.detail;
      return this.renewalFailed(detail, outcome.kind === 'unavailable');
    }
    renewal.ref = randomId();
    if (!this.trySend({ type: 'reauth', ticket: outcome.ticket, client_msg_id: renewal.ref }))
      return;
    this.timers.reauthAnswer = setTimeout(() => {
      if (generation === this.generation && this.renewal === renewal)
        void this.renewalFailed('no answer to reauth', true);
    }, this.options.connectTimeoutMs);
  }

  private async renewalFailed(detail: string, retryable: boolean): Promise<void> {
    const renewal = this.renewal;
    if (!renewal) return;
    if (retryable && renewal.tries < MAX_REAUTH_TRIES) {
      this.options.logger.info('renewal failed; retrying once', { detail });
      return this.sendReauth();
    }
    // Keep the socket: at expiry the server closes it with 4401 and we reconnect with a new ticket.
    this.options.logger.warn('renewal failed; reconnecting at expiry', { detail });
    this.renewal = undefined;
    this.renewalSettledFor = this.authExpiresAtIso;
    this.setState('open', { authExpiresAt: this.authExpiresAtIso });
  }

  private onReauthOk(message: ServerMessageOf<'reauth_ok'>): void {
    clearTimeout(this.timers.reauthAnswer);
    const previous = this.authExpiresAtLocal ?? 0;
    this.renewal = undefined;
    this.setAuthExpiry(message.auth_expires_at);
    if ((this.authExpiresAtLocal ?? 0) > previous) {
      this.scheduleRenewal();
    } else {
      // The token behind the ticket expires no later than before: renewing again cannot help.
      this.renewalSettledFor = message.auth_expires_at;
      this.options.logger.warn(
        'renewal did not extend the expiry; getAccessToken returned no fresher token',
      );
    }
    if (this.currentState === 'renewing')
      this.setState('open', { authExpiresAt: message.auth_expires_at });
  }

  // ---- liveness ---------------------------------------------------------

  /** Pings when the line is quiet; a gateway silent for 2.5 intervals is gone. */
  private startHeartbeat(intervalMs: number): void {
    clearInterval(this.timers.heartbeat);
    this.lastFrameAt = Date.now();
    const generation = this.generation;
    this.timers.heartbeat = setInterval(() => {
      if (generation !== this.generation) return;
      const quiet = Date.now() - this.lastFrameAt;
      if (quiet >= 2.5 * intervalMs) {
        this.abandon(generation, {
          reason: 'heartbeat_timeout',
          meaning: `no frame from the gateway for ${quiet} ms`,
          willReconnect: true,
        });
      } else if (quiet >= intervalMs / 2) {
        this.trySend({ type: 'ping' });
      }
    }, intervalMs);
  }

  // ---- closing and reconnecting -----------------------------------------

  private onSocketClosed(code: number, serverReason: string): void {
    this.noteLifetime();
    this.teardown();
    this.lastCloseCode = code;
    const decision = decideOnClose(code);
    const base = {
      code,
      meaning: decision.meaning,
      action: decision.action,
      ...(serverReason ? { serverReason } : {}),
    };
    this.options.logger.info('connection closed', { code, reason: decision.name });
    if (decision.kind === 'stop') {
      this.finish({ reason: decision.name, ...base, willReconnect: false });
    } else if (decision.kind === 'login') {
      const reason: CloseReason = { reason: 'session_revoked', ...base, willReconnect: false };
      this.finish(reason);
      this.emit('session_revoked', reason);
    } else {
      this.retryLater({ reason: decision.name, ...base, willReconnect: true }, decision.when);
    }
  }

  /** Gives up on the current socket for a reason of our own, then stops or reconnects. */
  private abandon(generation: number, reason: CloseReason): void {
    if (generation !== this.generation) return;
    this.options.logger.warn('abandoning the connection', {
      reason: reason.reason,
      meaning: reason.meaning,
    });
    if (!reason.willReconnect) {
      this.finish(reason, { code: 1000, text: reason.reason });
      return;
    }
    this.noteLifetime();
    this.teardown({ code: 1000, text: reason.reason });
    this.retryLater(reason, 'backoff');
  }

  /**
   * Counts connections that opened and died within STABLE_CONNECTION_MS in
   * a row. The backoff counter resets on every open, so without this a
   * gateway that accepts and at once closes (say 4401 because the app keeps
   * handing out a nearly expired token) would be hammered: from the second
   * such drop in a row, "reconnect at once" becomes a growing backoff.
   */
  private noteLifetime(): void {
    if (this.openedAt === undefined) return;
    this.quickDrops = Date.now() - this.openedAt < STABLE_CONNECTION_MS ? this.quickDrops + 1 : 0;
  }

  private retryLater(reason: CloseReason, when: 'now' | 'backoff', retryAfterMs?: number): void {
    let attempt: number;
    let delayMs: number;
    if (when === 'now' && this.quickDrops <= 1) {
      attempt = 0;
      delayMs = immediateDelay(this.options.backoff);
    } else {
      attempt = Math.max(this.attempt, this.quickDrops - 1);
      this.attempt = attempt + 1;
      delayMs = backoffDelay(attempt, this.options.backoff);
    }
    if (retryAfterMs !== undefined)
      delayMs = Math.max(delayMs, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
    this.setState('reconnecting', { reason, attempt, delayMs });
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => void this.attemptConnection(), delayMs);
  }

  /** Final: closes any socket, stops every timer, rejects pending connect() calls. */
  private finish(reason: CloseReason, closeWith?: { code: number; text: string }): void {
    if (this.currentState === 'closed') return;
    this.teardown(closeWith ?? { code: 1000, text: reason.reason });
    clearTimeout(this.timers.reconnect);
    this.setState('closed', { reason });
    const error = new AgentClientError(
      'closed',
      `the client closed: ${reason.reason} (${reason.meaning})`,
      reason,
    );
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** Forgets the current socket and everything tied to it; stale callbacks see a new generation. */
  private teardown(closeWith?: { code: number; text: string }): void {
    this.generation += 1;
    clearTimeout(this.timers.connect);
    clearTimeout(this.timers.renew);
    clearTimeout(this.timers.reauthAnswer);
    clearInterval(this.timers.heartbeat);
    const socket = this.socket;
    this.socket = undefined;
    this.established = undefined;
    this.openedAt = undefined;
    this.renewal = undefined;
    this.renewalSettledFor = undefined;
    this.resumeRefs.clear();
    if (!socket) return;
    // No-op handlers rather than null: `ws` throws on an 'error' event nobody listens to.
    socket.onopen = noop;
    socket.onmessage = noop;
    socket.onclose = noop;
    socket.onerror = noop;
    if (closeWith) {
      try {
        socket.close(closeWith.code, closeWith.text);
      } catch {
        // already closing
      }
    }
  }

  // ---- sending ----------------------------------------------------------

  private sendChecked(schema: z.ZodType<ClientMessage>, message: ClientMessage): void {
    const checked = schema.safeParse(message);
    if (!checked.success)
      throw new AgentClientError(
        'invalid_message',
        `${message.type}: ${describeIssue(checked.error)}`,
      );
    this.sendMessage(checked.data);
  }

  private sendMessage(message: ClientMessage): void {
    const socket = this.socket;
    if (!socket || !this.established || socket.readyState !== SOCKET_OPEN)
      throw new AgentClientError(
        'not_open',
        `the client is not connected (state: ${this.currentState})`,
      );
    socket.send(JSON.stringify(message));
  }

  /** For the SDK's own messages: a socket that is closing just drops them (its close handles the rest). */
  private trySend(message: ClientMessage): boolean {
    try {
      this.sendMessage(message);
      return true;
    } catch (error) {
      this.options.logger.debug('could not send', {
        type: message.type,
        error: error instanceof Error ? error.message : String(error),
      });
      return false;
    }
  }

  private setState(state: ClientState, extra: Omit<StateChange, 'state' | 'previous'> = {}): void {
    const previous = this.currentState;
    // 'reconnecting' repeats: each scheduled attempt is news (attempt, delay).
    if (previous === state && state !== 'reconnecting') return;
    this.currentState = state;
    const change: StateChange = { state, previous, ...extra };
    this.options.logger.info(`state ${state}`, {
      previous,
      ...(extra.reason ? { reason: extra.reason.reason, code: extra.reason.code } : {}),
      ...(extra.delayMs !== undefined ? { attempt: extra.attempt, delay_ms: extra.delayMs } : {}),
    });
    try {
      this.options.onStateChange?.(change);
    } catch (error) {
      this.options.logger.error('onStateChange threw', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    this.emit('state', change);
  }
}
