import { AgentRequest, AgentRequestSchema, BUS_KEYS } from '@admitone/agent-events';
import Redis from 'ioredis';
import type { Logger } from 'pino';

export interface ConsumerOptions {
  consumerName: string;
  concurrency: number;
  /** A pending request idle this long is claimed by another worker. */
  claimIdleMs: number;
  blockMs?: number;
}

/**
 * The worker side of the request stream. Reads with XREADGROUP in the
 * `agent-workers` group, so each request goes to one worker; while a request
 * is in hand its idle time is reset every claimIdleMs / 3 (XCLAIM JUSTID),
 * so only a request whose worker died goes idle long enough for XAUTOCLAIM
 * by a live worker. XACK and XDEL once handled.
 */
export class RedisRequestConsumer {
  private running = false;
  private inFlight = new Set<string>();
  private readonly stream: string;
  private readonly reader: Redis;
  private loops: Promise<void>[] = [];
  private claimTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    redisUrl: string,
    private readonly prefix: string,
    private readonly options: ConsumerOptions,
    private readonly logger: Logger,
  ) {
    this.stream = `${prefix}${BUS_KEYS.requests}`;
    // Blocking reads need a connection of their own, without a command timeout.
    this.reader = new Redis(redisUrl, {
      connectionName: `${options.consumerName}-reader`,
      maxRetriesPerRequest: null,
    });
    this.reader.on('error', (error: Error) =>
      logger.warn({ err: error.message }, 'redis reader error'),
    );
  }

  async start(handle: (request: AgentRequest) => Promise<void>): Promise<void> {
    await this.ensureGroup();
    this.running = true;
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.readLoop(handle));
    this.claimTimer = setInterval(
      () => void this.claimAbandoned(handle),
      Math.max(200, this.options.claimIdleMs / 2),
    );
    this.heartbeatTimer = setInterval(
      () => void this.heartbeat(),
      Math.max(100, this.options.claimIdleMs / 3),
    );
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.stream, BUS_KEYS.workersGroup, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error as Error).message.includes('BUSYGROUP')) throw error;
    }
  }

  private async readLoop(handle: (request: AgentRequest) => Promise<void>): Promise<void> {
    while (this.running) {
      try {
        const reply = (await this.reader.xreadgroup(
          'GROUP',
          BUS_KEYS.workersGroup,
          this.options.consumerName,
          'COUNT',
          1,
          'BLOCK',
          this.options.blockMs ?? 1000,
          'STREAMS',
          this.stream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) await this.process(id, fields, handle);
        }
      } catch (error) {
        if (!this.running) return;
        const message = (error as Error).message;
        if (message.includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        else this.logger.warn({ err: message }, 'reading requests failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async claimAbandoned(handle: (request: AgentRequest) => Promise<void>): Promise<void> {
    if (!this.running || this.inFlight.size >= this.options.concurrency) return;
    try {
      const [, entries] = (await this.redis.xautoclaim(
        this.stream,
        BUS_KEYS.workersGroup,
        this.options.consumerName,
        this.options.claimIdleMs,
        '0-0',
        'COUNT',
        1,
      )) as [string, [string, string[] | null][]];
      for (const [id, fields] of entries) {
        if (!fields) continue;
        this.logger.warn({ entry_id: id }, 'claimed a request abandoned by another worker');
        void this.process(id, fields, handle);
      }
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'claiming abandoned requests failed');
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.inFlight.size === 0) return;
    await this.redis
      .xclaim(
        this.stream,
        BUS_KEYS.workersGroup,
        this.options.consumerName,
        0,
        ...this.inFlight,
        'JUSTID',
      )
      .catch(() => undefined);
  }

  private async process(
    id: string,
    fields: string[],
    handle: (request: AgentRequest) => Promise<void>,
  ): Promise<void> {
    if (this.inFlight.has(id)) return;
    const json = fields[fields.indexOf('request') + 1];
    let request: AgentRequest | undefined;
    try {
      const parsed = AgentRequestSchema.safeParse(JSON.parse(json ?? ''));
      request = parsed.success ? parsed.data : undefined;
    } catch {
      request = undefined;
    }
    if (!request) {
      this.logger.error({ entry_id: id }, 'dropping a malformed agent request');
      await this.ack(id);
      return;
    }
    this.inFlight.add(id);
    try {
      await handle(request);
      await this.ack(id);
    } catch (error) {
      // Left pending: another worker (or this one) claims it after claimIdleMs.
      this.logger.error(
        { err: (error as Error).message, run_id: request.run_id },
        'agent run failed; leaving it to be claimed again',
      );
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async ack(id: string): Promise<void> {
    await this.redis
      .multi()
      .xack(this.stream, BUS_KEYS.workersGroup, id)
      .xdel(this.stream, id)
      .exec();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.claimTimer);
    clearInterval(this.heartbeatTimer);
    this.reader.disconnect();
    await Promise.allSettled(this.loops);
  }
}
