import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { Connection } from './connection';
import type { ConnectionContext, ConnectionSlot } from './connection-context';

export const GATEWAY_LOGGER = Symbol('GATEWAY_LOGGER');

/** Every live connection on this replica, by socket, user and session. */
@Injectable()
export class ConnectionRegistry implements OnModuleInit, OnModuleDestroy {
  private readonly bySocket = new Map<WebSocket, Connection>();
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  /** Slots taken by upgrades that are between the guard's decision and open(). */
  private readonly reserved = new Map<string, number>();
  private heartbeat?: NodeJS.Timeout;
  private readonly openListeners: ((c: Connection) => void)[] = [];
  private readonly closeListeners: ((c: Connection) => void)[] = [];

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    this.heartbeat = setInterval(
      () => this.bySocket.forEach((c) => c.heartbeat()),
      this.config.HEARTBEAT_INTERVAL_MS,
    );
    this.heartbeat.unref();
  }

  /** Lets other features (the agent relay) follow connections without owning them. */
  onOpen(listener: (c: Connection) => void): void {
    this.openListeners.push(listener);
  }

  onClose(listener: (c: Connection) => void): void {
    this.closeListeners.push(listener);
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
  }

  /** Takes a place for one more connection of the user, or nothing when the user is at the cap. */
  reserveSlot(userId: string): ConnectionSlot | undefined {
    const reserved = this.reserved.get(userId) ?? 0;
    if (this.countForUser(userId) + reserved >= this.config.MAX_CONNECTIONS_PER_USER)
      return undefined;
    this.reserved.set(userId, reserved + 1);
    let held = true;
    return {
      userId,
      release: () => {
        if (!held) return;
        held = false;
        const left = (this.reserved.get(userId) ?? 1) - 1;
        if (left > 0) this.reserved.set(userId, left);
        else this.reserved.delete(userId);
      },
    };
  }

  /**
   * Builds the connection of an accepted upgrade and registers it: the slot
   * becomes the connection in the same synchronous step, open listeners learn
   * of it once, and only then does `connection_established` go out.
   */
  open(ws: WebSocket, context: ConnectionContext): Connection {
    context.slot.release();
    const connection = new Connection(ws, context, this.config, this.metrics, this.logger, (c) =>
      this.remove(c),
    );
    this.bySocket.set(ws, connection);
    add(this.byUser, connection.userId, connection);
    add(this.bySession, connection.sessionId, connection);
    this.metrics.activeConnections.set(this.bySocket.size);
    for (const listener of this.openListeners) listener(connection);
    connection.start();
    return connection;
  }

  /**
   * Renewal, in one call: a fresh exchange of the same user extends the
   * connection's authentication and moves it to its (possibly new) session.
   */
  renew(connection: Connection, authExpiresAt: number, sessionId: string): void {
    if (connection.closed) return;
    const previous = connection.sessionId;
    connection.renew(authExpiresAt, sessionId);
    remove(this.bySession, previous, connection);
    add(this.bySession, connection.sessionId, connection);
  }

  /** Open connections of the user (slots still being upgraded are not counted). */
  countForUser(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  forUser(userId: string): Connection[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  sessionIds(): string[] {
    return [...this.bySession.keys()];
  }

  all(): Connection[] {
    return [...this.bySocket.values()];
  }

  get size(): number {
    return this.bySocket.size;
  }

  closeSession(sessionId: string, code: number, reason: string): number {
    const connections = [...(this.bySession.get(sessionId) ?? [])];
    for (const c of connections) c.close(code, reason);
    return connections.length;
  }

  private remove(connection: Connection): void {
    this.bySocket.delete(connection.ws);
    remove(this.byUser, connection.userId, connection);
    remove(this.bySession, connection.sessionId, connection);
    this.metrics.activeConnections.set(this.bySocket.size);
    for (const listener of this.closeListeners) listener(connection);
  }
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key) ?? new Set<V>();
  set.add(value);
  map.set(key, set);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
