import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CLOSE_CODES } from '@admitone/agent-events';
import {
  SESSION_REVOKED_CHANNEL,
  SESSION_STATUS_MAX_BODY_BYTES,
  SESSION_STATUS_MAX_IDS,
  SessionRevokedMessageSchema,
} from '@admitone/auth-contracts';
import { createSubscriberClient } from '@admitone/service-runtime';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { AuthServiceClient } from '../auth-service/auth-service.client';
import { GATEWAY_CONFIG, GatewayConfig } from '../config/gateway-config';
import { ConnectionRegistry, GATEWAY_LOGGER } from '../connections/connection-registry';
import { GatewayMetrics } from '../metrics/gateway-metrics';

/**
 * Closes every socket of a revoked session with 4403. The fast path is the
 * auth-service's Redis channel (within a second, on every replica). Pub/sub
 * drops what is published while a subscriber is cut off, so the slow path
 * re-checks every live session with auth-service every
 * SESSION_RECHECK_INTERVAL_MS (15 s by default, under the 30 s promise).
 * The ids go in requests that stay under auth-service's documented limits
 * (SESSION_STATUS_MAX_IDS ids, SESSION_STATUS_MAX_BODY_BYTES of JSON). A call
 * auth-service does not answer closes nothing (never close on doubt), but it
 * is logged and counted (ws_session_recheck_failures_total): a re-check that
 * fails silently is a revocation that never takes effect.
 */
@Injectable()
export class RevocationListener implements OnModuleInit, OnApplicationShutdown {
  private subscriber?: Redis;
  private recheck?: NodeJS.Timeout;
  private rechecking = false;

  constructor(
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(GATEWAY_LOGGER) private readonly logger: Logger,
    private readonly registry: ConnectionRegistry,
    private readonly authService: AuthServiceClient,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    if (this.config.REDIS_URL) {
      const channel = `${this.config.REDIS_PREFIX}${SESSION_REVOKED_CHANNEL}`;
      this.subscriber = createSubscriberClient(
        this.config.REDIS_URL,
        'ws-gateway-revocations',
        this.logger,
      );
      this.subscriber.on('message', (_channel: string, payload: string) =>
        this.onRevocation(payload),
      );
      void this.subscriber
        .subscribe(channel)
        .catch((error: Error) =>
          this.logger.error({ err: error.message }, 'could not subscribe to revocations'),
        );
    }
    this.recheck = setInterval(
      () => void this.recheckSessions(),
      this.config.SESSION_RECHECK_INTERVAL_MS,
    );
    this.recheck.unref();
  }

  private onRevocation(payload: string): void {
    let message;
    try {
      message = SessionRevokedMessageSchema.safeParse(JSON.parse(payload));
    } catch {
      message = undefined;
    }
    if (!message?.success) {
      this.logger.warn('ignored a malformed revocation message');
      return;
    }
    const closed = this.registry.closeSession(
      message.data.session_id,
      CLOSE_CODES.session_revoked.code,
      `session revoked (${message.data.reason})`,
    );
    if (closed)
      this.logger.info(
        { session_id: message.data.session_id, reason: message.data.reason, closed },
        'closed sockets of a revoked session',
      );
  }

  async recheckSessions(): Promise<void> {
    if (this.rechecking) return;
    this.rechecking = true;
    let failed = 0;
    let lastError = '';
    try {
      for (const chunk of sessionChunks(this.registry.sessionIds())) {
        let inactive: string[];
        try {
          inactive = await this.authService.inactiveSessions(chunk, 'session-recheck');
        } catch (error) {
          failed += 1;
          lastError = (error as Error).message;
          this.metrics.sessionRecheckFailures.inc();
          continue;
        }
        for (const id of inactive)
          this.registry.closeSession(
            id,
            CLOSE_CODES.session_revoked.code,
            'session no longer active',
          );
      }
    } finally {
      this.rechecking = false;
    }
    if (failed)
      this.logger.warn(
        { failed_calls: failed, err: lastError },
        'session re-check failed: revocations missed on pub/sub are not applied until it succeeds',
      );
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.recheck);
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

/** JSON of `{"session_ids":[]}` around the ids, and a quoted id plus its comma. */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ session_ids: [] }));
const idBytes = (id: string) => Buffer.byteLength(JSON.stringify(id)) + 1;

/** Splits ids into requests of at most SESSION_STATUS_MAX_IDS ids and SESSION_STATUS_MAX_BODY_BYTES. */
export function sessionChunks(ids: readonly string[]): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const id of ids) {
    const size = idBytes(id);
    if (
      chunk.length &&
      (chunk.length >= SESSION_STATUS_MAX_IDS || bytes + size > SESSION_STATUS_MAX_BODY_BYTES)
    ) {
      chunks.push(chunk);
      chunk = [];
      bytes = ENVELOPE_BYTES;
    }
    chunk.push(id);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}
