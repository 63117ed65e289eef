import {
  AgentEvent,
  ClientMessage,
  CLOSE_CODES,
  parseClientMessage,
  ServerMessage,
  SUBPROTOCOL,
  WsErrorCode,
} from '@admitone/agent-events';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { GatewayConfig } from '../config/gateway-config';
import type { GatewayMetrics } from '../metrics/gateway-metrics';
import type { ConnectionContext } from './connection-context';

/**
 * One authenticated socket and everything that keeps it honest:
 * - every inbound frame is parsed with the contract lib; a bad one gets an
 *   `error` event and the socket lives, but 10 within a minute close it 1008;
 * - a token bucket per connection answers a flood with `rate_limited`; each
 *   refused message is a strike, strikes leak away at half the allowed rate
 *   (not all at once on the next accepted message), so a client that keeps
 *   sending faster than 1.5 times the limit is closed with 4429;
 * - `auth_expiring` goes out ahead of `auth_expires_at`, and at expiry the
 *   socket closes with 4401 unless `reauth` renewed it;
 * - slow readers (contract 4.3): once a client's unsent bytes pass the soft
 *   mark (a quarter of MAX_BUFFERED_BYTES) agent events are held back, not
 *   queued, and the relay fills them in from the run's stream when the client
 *   has read its backlog. One drain timer runs only while a socket is behind.
 *   A client still behind after SLOW_READER_TIMEOUT_MS is closed with 1013:
 *   the close frame waits behind at most the soft mark, so a client that is
 *   slow but reading gets it and can `resume`. One that never reads is
 *   destroyed SLOW_READER_TIMEOUT_MS later (it sees 1006). Passing
 *   MAX_BUFFERED_BYTES itself (control frames still go out while events are
 *   held back) is the same 1013 close at once;
 * - protocol pings find dead peers, which are terminated.
 *
 * Hot-path rules: no child logger per socket (log lines carry the ids), one
 * expiry timer per socket at a time, and agent events arrive serialised once
 * per event for every socket of the user (sendEvent's `frame`).
 */
const INVALID_LIMIT = 10;
const INVALID_WINDOW_MS = 60_000;
/** How often a socket behind the soft mark is looked at again. */
const DRAIN_POLL_MS = 50;

/** A socket behind on reading: the held-back senders wait on `drained`. */
interface DrainWait {
  drained: Promise<boolean>;
  settle: (drained: boolean) => void;
  deadline: number;
  timer?: NodeJS.Timeout;
}

export class Connection {
  readonly id: string;
  readonly userId: string;
  sessionId: string;
  authExpiresAt: number;
  private alive = true;
  private closing = false;
  /** The code we closed with; ws reports the peer's echo, or 1006 when it never came. */
  private closedWith?: number;
  private tokens: number;
  private lastRefill = Date.now();
  private strikes = 0;
  private strikesAt = Date.now();
  private behind?: DrainWait;
  private invalidAt: number[] = [];
  /** The one auth timer: first `auth_expiring`, then the 4401 close. */
  private expiryTimer?: NodeJS.Timeout;
  /** Set when the socket has closed: nothing may be attached to this connection any more. */
  private ended = false;
  /** When the upgrade was accepted, before `connection_established` went out. */
  readonly openedAt = Date.now();

  constructor(
    readonly ws: WebSocket,
    readonly context: ConnectionContext,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    private readonly logger: Logger,
    private readonly onClosed: (connection: Connection, code: number) => void,
  ) {
    this.id = context.connection_id;
    this.userId = context.user.id;
    this.sessionId = context.session_id;
    this.authExpiresAt = context.auth_expires_at;
    this.tokens = config.MESSAGE_RATE_LIMIT.points;
  }

  /** True once the socket has closed (and the connection left the registry). */
  get closed(): boolean {
    return this.ended;
  }

  /** Writes one log line with this connection's ids in it (skipped cheaply when the level is off). */
  log(level: 'debug' | 'info' | 'warn' | 'error', fields: object | undefined, msg: string): void {
    if (!this.logger.isLevelEnabled(level)) return;
    this.logger[level](
      {
        connection_id: this.id,
        user_id: this.userId,
        session_id: this.sessionId,
        request_id: this.context.request_id,
        ...fields,
      },
      msg,
    );
  }

  start(): void {
    this.ws.on('pong', () => (this.alive = true));
    this.ws.on('error', (error) => this.log('info', { err: error.message }, 'socket error'));
    this.ws.once('close', (peerCode: number) => {
      // A slow reader never echoes our 1013 before the terminate: count what we sent.
      const code = this.closedWith ?? peerCode;
      this.ended = true;
      this.clearTimers();
      this.endDrainWait(false);
      this.metrics.closes.inc({ code: String(code) });
      this.log('info', { close_code: code, peer_close_code: peerCode }, 'connection closed');
      this.onClosed(this, code);
    });
    this.send({
      type: 'connection_established',
      connection_id: this.id,
      user_id: this.userId,
      protocol: SUBPROTOCOL,
      auth_expires_at: new Date(this.authExpiresAt).toISOString(),
      server_time: new Date().toISOString(),
      heartbeat_interval_ms: this.config.HEARTBEAT_INTERVAL_MS,
      connection_ready: true,
    });
    this.scheduleExpiry();
  }

  /** Admits one inbound frame: the typed message, or null when it was answered already. */
  receive(data: RawData, isBinary: boolean): ClientMessage | null {
    if (this.closing) return null;
    if (!this.takeToken()) {
      this.metrics.messages.inc({ type: 'rate_limited' });
      if (this.strike() > Math.max(5, this.config.MESSAGE_RATE_LIMIT.points)) {
        this.close(CLOSE_CODES.rate_limited.code, 'message rate exceeded');
      } else {
        this.sendError('rate_limited', 'Too many messages; slow down.');
      }
      return null;
    }
    const parsed = isBinary
      ? ({
          ok: false,
          error: { code: 'invalid_message', message: 'frames are UTF-8 JSON text' },
        } as const)
      : parseClientMessage(data);
    if (parsed.ok) {
      this.metrics.messages.inc({ type: parsed.message.type });
      return parsed.message;
    }
    this.metrics.messages.inc({ type: 'invalid' });
    const now = Date.now();
    this.invalidAt = this.invalidAt.filter((t) => now - t < INVALID_WINDOW_MS);
    this.invalidAt.push(now);
    if (this.invalidAt.length >= INVALID_LIMIT) {
      this.close(CLOSE_CODES.policy_violation.code, 'repeated invalid messages');
      return null;
    }
    this.sendError(
      parsed.error.code,
      parsed.error.message,
      'ref' in parsed.error ? parsed.error.ref : undefined,
    );
    return null;
  }

  /** Sends a message; a reader past MAX_BUFFERED_BYTES is closed with 1013 instead. */
  send(message: ServerMessage): boolean {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return false;
    return this.sendFrame(JSON.stringify(message));
  }

  /** Sends an already serialised message; the same string may go to every socket of a user. */
  private sendFrame(frame: string): boolean {
    if (this.ws.bufferedAmount + Buffer.byteLength(frame) > this.config.MAX_BUFFERED_BYTES) {
      this.closeSlowReader('unread bytes passed MAX_BUFFERED_BYTES');
      return false;
    }
    this.ws.send(frame);
    return true;
  }

  /**
   * Sends an agent event, unless the client is behind on reading: then the
   * event is held back (false) and `drained()` tells the caller when to
   * fill in from the run's stream.
   */
  sendEvent(event: AgentEvent, frame?: string): boolean {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.behind || this.ws.bufferedAmount > this.softMark) {
      this.holdBack();
      return false;
    }
    return this.sendFrame(frame ?? JSON.stringify(event));
  }

  /** True once held-back events may be sent again; false when the socket closes instead. */
  drained(): Promise<boolean> {
    if (this.behind) return this.behind.drained;
    return Promise.resolve(!this.closing && this.ws.readyState === this.ws.OPEN);
  }

  sendError(code: WsErrorCode, message: string, ref?: string): void {
    this.send({ type: 'error', code, message, ...(ref ? { ref } : {}) });
  }

  /** A fresh ticket was exchanged: extend authentication without reconnecting. */
  renew(authExpiresAt: number, sessionId: string): void {
    this.authExpiresAt = authExpiresAt;
    this.sessionId = sessionId;
    this.scheduleExpiry();
    this.send({ type: 'reauth_ok', auth_expires_at: new Date(authExpiresAt).toISOString() });
  }

  /** Called on every heartbeat tick: a peer that did not answer the last ping is gone. */
  heartbeat(): void {
    if (!this.alive) {
      this.log('info', undefined, 'no pong since the last ping: terminating dead peer');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      this.ws.terminate();
    }
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.closedWith = code;
    this.clearTimers();
    this.endDrainWait(false);
    this.log('info', { close_code: code, close_reason: reason }, 'closing connection');
    this.ws.close(code, reason);
  }

  private get softMark(): number {
    return this.config.MAX_BUFFERED_BYTES / 4;
  }

  private holdBack(): void {
    if (this.behind) return;
    let settle!: (drained: boolean) => void;
    const drained = new Promise<boolean>((resolve) => (settle = resolve));
    const wait: DrainWait = {
      drained,
      settle,
      deadline: Date.now() + this.config.SLOW_READER_TIMEOUT_MS,
    };
    this.behind = wait;
    this.log(
      'info',
      { buffered_bytes: this.ws.bufferedAmount },
      'slow reader: holding back events until it reads',
    );
    const check = () => {
      if (this.behind !== wait) return;
      if (this.ws.bufferedAmount <= this.softMark) return this.endDrainWait(true);
      if (Date.now() >= wait.deadline)
        return this.closeSlowReader('still behind after SLOW_READER_TIMEOUT_MS');
      wait.timer = setTimeout(check, DRAIN_POLL_MS);
    };
    wait.timer = setTimeout(check, DRAIN_POLL_MS);
  }

  private endDrainWait(drained: boolean): void {
    const wait = this.behind;
    if (!wait) return;
    this.behind = undefined;
    clearTimeout(wait.timer);
    wait.settle(drained);
  }

  /** 1013, then a hard bound: a client that reads nothing at all is destroyed. */
  private closeSlowReader(why: string): void {
    if (this.closing) return;
    this.log(
      'warn',
      { buffered_bytes: this.ws.bufferedAmount, reason: why },
      'slow reader: closing with 1013',
    );
    this.close(CLOSE_CODES.try_again_later.code, 'too slow to read');
    setTimeout(() => this.ws.terminate(), this.config.SLOW_READER_TIMEOUT_MS).unref();
  }

  /** Counts one refused message; strikes leak at half the refill rate. Returns the count. */
  private strike(): number {
    const { points, durationSeconds } = this.config.MESSAGE_RATE_LIMIT;
    const now = Date.now();
    const leaked = ((now - this.strikesAt) * points) / (2 * durationSeconds * 1000);
    this.strikes = Math.max(0, this.strikes - leaked) + 1;
    this.strikesAt = now;
    return this.strikes;
  }

  private takeToken(): boolean {
    const { points, durationSeconds } = this.config.MESSAGE_RATE_LIMIT;
    const now = Date.now();
    this.tokens = Math.min(
      points,
      this.tokens + ((now - this.lastRefill) * points) / (durationSeconds * 1000),
    );
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private scheduleExpiry(): void {
    this.clearTimers();
    const warnAt = this.authExpiresAt - this.config.AUTH_EXPIRING_LEAD_SECONDS * 1000;
    this.expiryTimer = setTimeout(
      () => {
        this.send({
          type: 'auth_expiring',
          auth_expires_at: new Date(this.authExpiresAt).toISOString(),
        });
        this.expiryTimer = setTimeout(
          () => this.close(CLOSE_CODES.auth_expired.code, 'authentication expired'),
          Math.max(0, this.authExpiresAt - Date.now()),
        );
      },
      Math.max(0, warnAt - Date.now()),
    );
  }

  private clearTimers(): void {
    clearTimeout(this.expiryTimer);
  }
}
