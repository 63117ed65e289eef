import {
  AgentEvent,
  AgentRequest,
  BUS_KEYS,
  BusEvent,
  TERMINAL_EVENT_TYPES,
} from '@admitone/agent-events';
import type Redis from 'ioredis';
import type { AgentStep, RunContext } from '../reference-agent/reference-agent';

/**
 * Emits one event atomically: append to the run's stream, advance
 * last_event_id, publish to the user's channel. An event whose id is not
 * above last_event_id is skipped, which makes emission idempotent: a worker
 * that claims a run another worker abandoned re-runs the (deterministic)
 * agent and only the events not yet emitted go out, each exactly once.
 */
const EMIT = `
local last = tonumber(redis.call('HGET', KEYS[1], 'last_event_id') or '0')
local id = tonumber(ARGV[1])
if id <= last then return 0 end
redis.call('HSET', KEYS[1], 'last_event_id', id, 'status', ARGV[6])
redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

type EmittingRedis = Redis & {
  admitoneEmitAgentEvent(
    runKey: string,
    streamKey: string,
    eventId: number,
    eventJson: string,
    channel: string,
    busJson: string,
    retention: number,
    status: string,
  ): Promise<number>;
};

export function redisRunContext(
  redis: Redis,
  prefix: string,
  request: AgentRequest,
  retentionSeconds: number,
): RunContext {
  if (!('admitoneEmitAgentEvent' in redis))
    redis.defineCommand('admitoneEmitAgentEvent', { numberOfKeys: 2, lua: EMIT });
  const r = redis as EmittingRedis;
  let nextId = 0;
  return {
    async emit(step: AgentStep): Promise<void> {
      nextId += 1;
      const event = {
        ...step,
        run_id: request.run_id,
        thread_id: request.thread_id,
        event_id: nextId,
        ts: new Date().toISOString(),
      } as AgentEvent;
      const bus: BusEvent = { user_id: request.user_id, event };
      const status = TERMINAL_EVENT_TYPES.includes(event.type)
        ? event.type === 'agent_completed'
          ? 'completed'
          : 'failed'
        : 'running';
      await r.admitoneEmitAgentEvent(
        `${prefix}${BUS_KEYS.run(request.run_id)}`,
        `${prefix}${BUS_KEYS.runEvents(request.run_id)}`,
        nextId,
        JSON.stringify(event),
        `${prefix}${BUS_KEYS.userEvents(request.user_id)}`,
        JSON.stringify(bus),
        retentionSeconds,
        status,
      );
    },
    async isCancelled(): Promise<boolean> {
      return (await redis.exists(`${prefix}${BUS_KEYS.runCancel(request.run_id)}`)) === 1;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
