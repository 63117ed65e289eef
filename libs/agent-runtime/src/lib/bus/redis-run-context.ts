import {
  AgentEvent,
  AgentRequest,
  BUS_KEYS,
  BUS_LUA,
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
 * Nothing is emitted after the run's terminal event.
 *
 * A re-run is deterministic only while nothing changes underneath it: when
 * the run was cancelled after the first worker died, the re-run ends early
 * with agent_failed at an id the first worker already used. A terminal event
 * that was skipped although the run has not ended is therefore emitted again
 * at the next free id, so every run still gets exactly one terminal event.
 */
const EMIT = BUS_LUA.emitAgentEvent; // libs/agent-events/src/lua/emit-agent-event.lua

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
      const terminal = TERMINAL_EVENT_TYPES.includes(step.type);
      const status = terminal
        ? step.type === 'agent_completed'
          ? 'completed'
          : 'failed'
        : 'running';
      nextId += 1;
      // 1: emitted; 0: the run has ended; -n: skipped, n is the run's last event_id.
      for (let attempt = 0; attempt < 5; attempt++) {
        const event = {
          ...step,
          run_id: request.run_id,
          thread_id: request.thread_id,
          event_id: nextId,
          ts: new Date().toISOString(),
        } as AgentEvent;
        const bus: BusEvent = { user_id: request.user_id, event };
        const outcome = await r.admitoneEmitAgentEvent(
          `${prefix}${BUS_KEYS.run(request.run_id)}`,
          `${prefix}${BUS_KEYS.runEvents(request.run_id)}`,
          nextId,
          JSON.stringify(event),
          `${prefix}${BUS_KEYS.userEvents(request.user_id)}`,
          JSON.stringify(bus),
          retentionSeconds,
          status,
        );
        if (outcome >= 0 || !terminal) return;
        nextId = -outcome + 1;
      }
    },
    async isCancelled(): Promise<boolean> {
      return (await redis.exists(`${prefix}${BUS_KEYS.runCancel(request.run_id)}`)) === 1;
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
