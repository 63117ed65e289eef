import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AgentEvent, TERMINAL_EVENT_TYPES } from '@admitone/agent-events';
import { AGENT_BUS, AgentBus, RunInfo } from '@admitone/agent-runtime';
import type { Logger } from 'pino';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { Connection } from '../connections/connection';
import { ConnectionRegistry, GATEWAY_LOGGER } from '../connections/connection-registry';
import { GatewayMetrics } from '../metrics/gateway-metrics';

/** Where one socket stands in one run. */
interface RunCursor {
  /** Delivery has reached this event_id (sent now or earlier, or skipped by `resume`). */
  lastSent: number;
  /** The event_ids this socket was actually sent: none goes out twice. */
  delivered: Set<number>;
  terminal: boolean;
  /**
   * Whether the run is this socket's user's: `mine` when this socket sent the
   * chat, otherwise looked up once (the run's owner) before anything is sent.
   */
  owner: 'unchecked' | 'mine' | 'foreign';
  /** Serialises delivery to this socket for this run. */
  chain: Promise<void>;
  watchdog?: NodeJS.Timeout;
}

/**
 * Relays agent events to the sockets of the user they belong to, in order,
 * each event exactly once per socket. Live events come from the bus (one
 * subscription per user with sockets on this replica); whenever a socket is
 * behind (it resumed, or the live feed dropped events) the gap is filled from
 * the run's retained events before anything newer is sent. A user's events
 * never reach another user's socket: the subscription is per user, and the
 * relay does not trust the channel either. A live event whose BusEvent
 * `user_id` is not the socket's user, and any event (live or replayed) of a
 * run whose owner is not the socket's user, is dropped, logged and counted
 * (ws_relay_dropped_events_total).
 *
 * A socket whose client is behind on reading holds events back (see
 * Connection.sendEvent); its runs wait for it to drain and then fill in from
 * the stream, so nothing is queued per socket and nothing is skipped.
 *
 * Which history a socket gets: the socket that sent the chat gets every
 * event from 1, and a `resume` every event after `after_event_id`. Another
 * socket of the user that first sees a run at event k > 1 gets the earlier
 * events only if the run was requested after the socket connected (it missed
 * them because its subscription was still being set up); a run already under
 * way when it connected goes to it live from event k. Backfilling that one
 * would hand a client reconnecting mid-run the events it already had on its
 * old socket, in the moment before its `resume` arrives.
 */
@Injectable()
export class AgentRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly cursors = new Map<Connection, Map<string, RunCursor>>();
  private readonly subscriptions = new Map<string, Promise<() => Promise<void>>>();

  constructor(
    @Inject(AGENT_BUS) private readonly bus: AgentBus,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: GatewayMetrics,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.registry.onOpen((c) => void this.ready(c.userId).catch(() => undefined));
    this.registry.onClose((c) => this.forget(c));
    this.bus.onResubscribed(() => this.resyncAll());
  }

  /**
   * Resolves once live events of this user reach this replica; rejects after
   * `timeoutMs` (the event feed is down), so a chat gets an error, not silence.
   */
  async readyWithin(userId: string, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('event subscription not ready')), timeoutMs);
    });
    try {
      await Promise.race([this.ready(userId), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once live events of this user reach this replica. */
  ready(userId: string): Promise<unknown> {
    let subscription = this.subscriptions.get(userId);
    if (!subscription) {
      subscription = this.bus.subscribeUser(userId, (event, eventUserId) =>
        this.onLiveEvent(userId, event, eventUserId),
      );
      subscription.catch(() => this.subscriptions.delete(userId));
      this.subscriptions.set(userId, subscription);
    }
    return subscription;
  }

  /**
   * A chat is about to be submitted from this socket: expect its run, and say
   * so if no agent picks it up. False (and nothing kept) when the socket has
   * closed meanwhile.
   */
  expectRun(connection: Connection, runId: string, ref: string | undefined): boolean {
    const cursor = this.cursor(connection, runId);
    if (!cursor) return false;
    cursor.owner = 'mine';
    cursor.watchdog = setTimeout(() => {
      if (cursor.lastSent === 0 && !cursor.terminal) {
        connection.sendError('unavailable', 'No agent picked up the request in time; retry.', ref);
        this.forgetRun(connection, runId);
      }
    }, this.config.CHAT_ACK_TIMEOUT_MS);
    cursor.watchdog.unref();
    return true;
  }

  forgetRun(connection: Connection, runId: string): void {
    const runs = this.cursors.get(connection);
    const cursor = runs?.get(runId);
    if (!runs || !cursor) return;
    clearTimeout(cursor.watchdog);
    runs.delete(runId);
    if (runs.size === 0) this.cursors.delete(connection);
  }

  /** How many sockets have per-run state here (for tests and leak checks). */
  get trackedSockets(): number {
    return this.cursors.size;
  }

  /** `resume`: everything after `afterEventId`, then live events, none twice. */
  async resume(connection: Connection, runId: string, afterEventId: number): Promise<void> {
    const cursor = this.cursor(connection, runId);
    if (!cursor) return;
    return this.enqueue(connection, runId, cursor, () => {
      cursor.lastSent = afterEventId;
      cursor.terminal = false;
      return this.fill(connection, runId, cursor);
    });
  }

  private onLiveEvent(userId: string, event: AgentEvent, eventUserId: string): void {
    if (eventUserId !== userId) {
      this.drop('user_mismatch', event.run_id, { user_id: userId, event_user_id: eventUserId });
      return;
    }
    // Serialised once for every socket of the user, not once per socket.
    let frame: string | undefined;
    for (const connection of this.registry.forUser(userId)) {
      if (connection.userId !== userId) continue;
      const joining = !this.cursors.get(connection)?.has(event.run_id);
      const cursor = this.cursor(connection, event.run_id);
      if (!cursor) continue;
      frame ??= JSON.stringify(event);
      const serialised = frame;
      void this.enqueue(connection, event.run_id, cursor, async () => {
        const run = await this.checkOwner(connection, event.run_id, cursor);
        if (!run) return;
        if (
          joining &&
          event.event_id > 1 &&
          !this.requestedSinceOpen(connection, run === true ? null : run)
        )
          cursor.lastSent = Math.max(cursor.lastSent, event.event_id - 1);
        if (event.event_id <= cursor.lastSent) return;
        if (
          event.event_id === cursor.lastSent + 1 &&
          this.send(connection, event.run_id, cursor, event, serialised)
        )
          return;
        // A gap, or held back for a slow reader: the stream has this event and any before it.
        await this.fill(connection, event.run_id, cursor);
      });
    }
  }

  /**
   * Whether the run may go to this socket: the run's info when it was looked
   * up now, true when it was known already, null (dropped) when it is not the
   * socket's user's.
   */
  private async checkOwner(
    connection: Connection,
    runId: string,
    cursor: RunCursor,
  ): Promise<RunInfo | true | null> {
    if (cursor.owner === 'mine') return true;
    if (cursor.owner === 'foreign') return null;
    const run = await this.bus.runInfo(runId);
    if (run && run.user_id === connection.userId) {
      cursor.owner = 'mine';
      return run;
    }
    cursor.owner = 'foreign';
    this.drop('run_owner_mismatch', runId, {
      user_id: connection.userId,
      connection_id: connection.id,
      run_user_id: run?.user_id ?? null,
    });
    return null;
  }

  private drop(reason: string, runId: string, fields: Record<string, unknown>): void {
    this.metrics.droppedEvents.inc({ reason });
    this.logger.warn(
      { ...fields, run_id: runId, reason },
      'dropped an agent event of another user',
    );
  }

  /** Was the run requested after this socket connected? (No when that cannot be told.) */
  private requestedSinceOpen(connection: Connection, run: RunInfo | null): boolean {
    const requested = Date.parse(run?.created_at ?? '');
    return Number.isFinite(requested) && requested >= connection.openedAt;
  }

  /**
   * Sends what the socket is missing from the run's stream, in order. When
   * the client is behind on reading, waits until it has read its backlog and
   * goes on from where it stopped (or gives up when the socket closes).
   */
  private async fill(connection: Connection, runId: string, cursor: RunCursor): Promise<void> {
    if (!(await this.checkOwner(connection, runId, cursor))) return;
    for (;;) {
      const missing = await this.bus.replay(runId, cursor.lastSent);
      let heldBack = false;
      for (const event of missing) {
        if (event.event_id !== cursor.lastSent + 1) continue;
        if (!this.send(connection, runId, cursor, event)) {
          heldBack = true;
          break;
        }
      }
      if (!heldBack || !(await connection.drained())) return;
    }
  }

  /**
   * Delivers the cursor's next event; false when the socket held it back (or
   * is closing). The run's terminal event ends the cursor: it is freed then.
   */
  private send(
    connection: Connection,
    runId: string,
    cursor: RunCursor,
    event: AgentEvent,
    frame?: string,
  ): boolean {
    if (!cursor.delivered.has(event.event_id)) {
      if (!connection.sendEvent(event, frame)) return false;
      cursor.delivered.add(event.event_id);
      clearTimeout(cursor.watchdog);
    }
    cursor.lastSent = event.event_id;
    if (TERMINAL_EVENT_TYPES.includes(event.type)) {
      cursor.terminal = true;
      if (this.cursors.get(connection)?.get(runId) === cursor) this.forgetRun(connection, runId);
    }
    return true;
  }

  private enqueue(
    connection: Connection,
    runId: string,
    cursor: RunCursor,
    work: () => Promise<void>,
  ): Promise<void> {
    cursor.chain = cursor.chain.then(work).catch((error: Error) => {
      connection.log('warn', { err: error.message, run_id: runId }, 'could not deliver run events');
    });
    return cursor.chain;
  }

  /** After the live feed was interrupted, catch every unfinished run up from its stream. */
  private resyncAll(): void {
    for (const [connection, runs] of this.cursors) {
      for (const [runId, cursor] of runs) {
        // Including runs that have not sent anything yet: their first events may be the lost ones.
        if (!cursor.terminal)
          void this.enqueue(connection, runId, cursor, () => this.fill(connection, runId, cursor));
      }
    }
  }

  /** The socket's cursor for the run, created when needed; none once the socket has closed. */
  private cursor(connection: Connection, runId: string): RunCursor | undefined {
    if (connection.closed) return undefined;
    let runs = this.cursors.get(connection);
    if (!runs) {
      runs = new Map();
      this.cursors.set(connection, runs);
    }
    let cursor = runs.get(runId);
    if (!cursor) {
      cursor = {
        lastSent: 0,
        delivered: new Set(),
        terminal: false,
        owner: 'unchecked',
        chain: Promise.resolve(),
      };
      runs.set(runId, cursor);
    }
    return cursor;
  }

  private forget(connection: Connection): void {
    for (const cursor of this.cursors.get(connection)?.values() ?? [])
      clearTimeout(cursor.watchdog);
    this.cursors.delete(connection);
    if (this.registry.countForUser(connection.userId) > 0) return;
    const subscription = this.subscriptions.get(connection.userId);
    this.subscriptions.delete(connection.userId);
    void subscription?.then((unsubscribe) => unsubscribe()).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}
