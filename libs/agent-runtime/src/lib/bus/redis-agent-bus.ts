import {
  AgentEvent,
  AgentEventSchema,
  AgentRequest,
  BUS_KEYS,
  BUS_LUA,
  BusEventSchema,
  RUN_STATUSES,
  RunStatus,
} from '@admitone/agent-events';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { Admission, AdmissionLimits, AgentBus, AgentEventListener, RunInfo } from './agent-bus';

/**
 * Admission and queueing in one script, so concurrent chats on any number of
 * gateways cannot pass a limit together, and nothing is queued that was not
 * counted. The user's in-flight set is pruned first: runs older than the
 * retention window, and runs whose hash says they ended (or is gone). The
 * backlog is the request stream's length: workers XDEL what they XACK, and
 * nothing else ever removes an entry, so no accepted request is dropped.
 * (The run hashes are read by name, which ties the keys to one Redis node;
 * the request stream does so already.)
 */
const ADMIT = BUS_LUA.admitAgentRequest; // libs/agent-events/src/lua/admit-agent-request.lua

type AdmittingRedis = Redis & {
  admitoneAdmitAgentRequest(
    userRuns: string,
    threadRuns: string,
    runKey: string,
    stream: string,
    runKeyPrefix: string,
    retentionSeconds: number,
    maxRunsPerUser: number,
    maxPendingRuns: number,
    runId: string,
    userId: string,
    sessionId: string,
    threadId: string,
    createdAt: string,
    request: string,
  ): Promise<Admission>;
};

/** The gateway side of the Redis bus; see BUS_KEYS in @admitone/agent-events for the layout. */
export class RedisAgentBus implements AgentBus {
  private readonly listeners = new Map<string, Set<AgentEventListener>>();

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly retentionSeconds: number,
    private readonly limits: AdmissionLimits,
    private readonly logger?: Logger,
  ) {
    if (!('admitoneAdmitAgentRequest' in redis))
      redis.defineCommand('admitoneAdmitAgentRequest', { numberOfKeys: 4, lua: ADMIT });
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

  async submit(request: AgentRequest): Promise<Admission> {
    const p = this.prefix;
    return (this.redis as AdmittingRedis).admitoneAdmitAgentRequest(
      `${p}${BUS_KEYS.userRuns(request.user_id)}`,
      `${p}${BUS_KEYS.threadRuns(request.user_id, request.thread_id)}`,
      `${p}${BUS_KEYS.run(request.run_id)}`,
      `${p}${BUS_KEYS.requests}`,
      `${p}${BUS_KEYS.run('')}`,
      this.retentionSeconds,
      this.limits.maxRunsPerUser,
      this.limits.maxPendingRuns,
      request.run_id,
      request.user_id,
      request.session_id,
      request.thread_id,
      request.requested_at,
      JSON.stringify(request),
    );
  }

  async threadRuns(userId: string, threadId: string): Promise<string[]> {
    return this.redis.zrange(`${this.prefix}${BUS_KEYS.threadRuns(userId, threadId)}`, 0, -1);
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
