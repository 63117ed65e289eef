import {
  AgentEvent,
  AgentEventSchema,
  AgentRequest,
  BUS_KEYS,
  BusEventSchema,
  RUN_STATUSES,
  RunStatus,
} from '@admitone/agent-events';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { AgentBus, AgentEventListener, RunInfo } from './agent-bus';

/** The gateway side of the Redis bus; see BUS_KEYS in @admitone/agent-events for the layout. */
export class RedisAgentBus implements AgentBus {
  private readonly listeners = new Map<string, Set<AgentEventListener>>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
    private readonly logger?: Logger,
  ) {
    subscriber.on('message', (channel: string, payload: string) => this.dispatch(channel, payload));
    let readyBefore = subscriber.status === 'ready';
    subscriber.on('ready', () => {
      // ioredis re-subscribes by itself; what was published meanwhile is lost.
      if (readyBefore) for (const listener of this.resubscribed) listener();
      readyBefore = true;
    });
  }

  private readonly resubscribed: (() => void)[] = [];

  onResubscribed(listener: () => void): void {
    this.resubscribed.push(listener);
  }

  async submit(request: AgentRequest): Promise<void> {
    const runKey = `${this.prefix}${BUS_KEYS.run(request.run_id)}`;
    const result = await this.redis
      .multi()
      .hset(runKey, {
        user_id: request.user_id,
        session_id: request.session_id,
        thread_id: request.thread_id,
        status: 'queued',
        created_at: request.requested_at,
        last_event_id: 0,
      })
      .expire(runKey, this.retentionSeconds)
      .xadd(
        `${this.prefix}${BUS_KEYS.requests}`,
        'MAXLEN',
        '~',
        '100000',
        '*',
        'request',
        JSON.stringify(request),
      )
      .exec();
    const failed = result?.find(([error]) => error);
    if (!result || failed) throw failed?.[0] ?? new Error('agent request was not queued');
  }

  async cancel(runId: string): Promise<void> {
    await this.redis.set(
      `${this.prefix}${BUS_KEYS.runCancel(runId)}`,
      '1',
      'EX',
      this.retentionSeconds,
    );
  }

  async runInfo(runId: string): Promise<RunInfo | null> {
    const h = await this.redis.hgetall(`${this.prefix}${BUS_KEYS.run(runId)}`);
    if (!h['user_id']) return null;
    const status = (RUN_STATUSES as readonly string[]).includes(h['status'] ?? '')
      ? (h['status'] as RunStatus)
      : 'queued';
    return {
      user_id: h['user_id'],
      thread_id: h['thread_id'] ?? '',
      status,
      created_at: h['created_at'] ?? '',
    };
  }

  async replay(runId: string, afterEventId: number): Promise<AgentEvent[]> {
    const entries = await this.redis.xrange(`${this.prefix}${BUS_KEYS.runEvents(runId)}`, '-', '+');
    const events: AgentEvent[] = [];
    for (const [id, fields] of entries) {
      // An agent of another team may have written a bad entry: skip it, keep the rest.
      const event = parseStreamEvent(fields);
      if (!event)
        this.logger?.warn({ run_id: runId, entry_id: id }, 'ignored a malformed run event');
      else if (event.event_id > afterEventId) events.push(event);
    }
    return events.sort((a, b) => a.event_id - b.event_id);
  }

  async subscribeUser(userId: string, listener: AgentEventListener): Promise<() => Promise<void>> {
    const channel = `${this.prefix}${BUS_KEYS.userEvents(userId)}`;
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private dispatch(channel: string, payload: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    let parsed;
    try {
      parsed = BusEventSchema.safeParse(JSON.parse(payload));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.logger?.warn({ channel }, 'ignored a malformed bus event');
      return;
    }
    for (const listener of set) listener(parsed.data.event, parsed.data.user_id);
  }

  /** The bus owns its subscriber connection. */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

function parseStreamEvent(fields: string[]): AgentEvent | undefined {
  const at = fields.findIndex((value, i) => i % 2 === 0 && value === 'event');
  if (at === -1) return undefined;
  try {
    const parsed = AgentEventSchema.safeParse(JSON.parse(fields[at + 1] ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
