import { z } from 'zod';
import { MAX_CHAT_CHARS } from './protocol';
import { AgentEventSchema, IdSchema, TimestampSchema } from './server-messages';

/**
 * The agent bus on Redis: everything a team writing its own agent needs.
 * Every key and channel below is prefixed with the deployment's REDIS_PREFIX.
 *
 * Requests. The gateway writes the run's metadata to the hash `run:<run_id>`
 * (fields user_id, session_id, thread_id, status, created_at) and appends
 * the request to the stream `agent:requests` (field `request`: JSON of
 * AgentRequest). Agents read it with XREADGROUP in the consumer group
 * `agent-workers`, XACK when done, and XAUTOCLAIM entries idle longer than
 * their claim timeout, so a request outlives the worker that died on it.
 *
 * Events. For each event of a run, in order, with event_id 1, 2, 3...:
 * XADD the event (field `event`: JSON of the AgentEvent) to the stream
 * `run:<run_id>:events`, set `last_event_id` (and `status` on the terminal
 * event) in `run:<run_id>`, then PUBLISH a BusEvent to `user:<user_id>:events`.
 * Gateways deliver the published events live and replay the stream for
 * `resume`; both keys expire after the retention window (one hour).
 *
 * Cancellation. `cancel` sets `run:<run_id>:cancel`; an agent checks it
 * between steps and ends the run with `agent_failed`, error "cancelled".
 */
export const BUS_KEYS = {
  requests: 'agent:requests',
  workersGroup: 'agent-workers',
  run: (runId: string) => `run:${runId}`,
  runEvents: (runId: string) => `run:${runId}:events`,
  runCancel: (runId: string) => `run:${runId}:cancel`,
  userEvents: (userId: string) => `user:${userId}:events`,
} as const;

export const DEFAULT_RUN_RETENTION_SECONDS = 3600;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const AgentRequestSchema = z.object({
  run_id: IdSchema,
  thread_id: IdSchema,
  user_id: IdSchema,
  session_id: IdSchema,
  content: z.string().min(1).max(MAX_CHAT_CHARS),
  request_id: z.string().max(256),
  requested_at: TimestampSchema,
});
export type AgentRequest = z.infer<typeof AgentRequestSchema>;

/** What is published on `user:<user_id>:events`. */
export const BusEventSchema = z.object({
  user_id: IdSchema,
  event: AgentEventSchema,
});
export type BusEvent = z.infer<typeof BusEventSchema>;
