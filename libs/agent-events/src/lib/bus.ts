import { z } from 'zod';
import { MAX_CHAT_CHARS } from './protocol';
import { AgentEventSchema, IdSchema, TimestampSchema } from './server-messages';

/**
 * The agent bus on Redis: everything a team writing its own agent needs.
 * Every key and channel below is prefixed with the deployment's REDIS_PREFIX.
 *
 * Requests. The gateway admits a chat and queues it in one script: it writes
 * the run's metadata to the hash `run:<run_id>` (fields user_id, session_id,
 * thread_id, status, created_at), adds the run to the user's in-flight set
 * `user:<user_id>:runs` and to the thread's run list
 * `user:<user_id>:thread:<thread_id>:runs` (sorted sets of run ids, scored by
 * admission time in ms), and appends the request to the stream
 * `agent:requests` (field `request`: JSON of AgentRequest). The stream is
 * never trimmed: agents read it with XREADGROUP in the consumer group
 * `agent-workers`, XACK and XDEL an entry once handled, and XAUTOCLAIM
 * entries idle longer than their claim timeout, so a request outlives the
 * worker that died on it. What remains in the stream is the backlog.
 *
 * Admission. A chat is refused (`too_many_runs`) while the user has
 * MAX_RUNS_PER_USER runs in flight, and (`busy`) while the stream holds
 * MAX_PENDING_RUNS requests. A run stops counting for its user once its hash
 * says `completed` or `failed` (the terminal event sets it) or is gone
 * (retention), so an agent needs nothing more than the event rules below.
 *
 * Threads. A thread belongs to the user who wrote in it: a thread's identity
 * on the bus is (user_id, thread_id), so an agent keeps a thread's history
 * under `user:<user_id>:thread:<thread_id>...`, with the user_id of the
 * request, never under the client-chosen thread_id alone. Two users using
 * the same thread_id have two threads.
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
  userRuns: (userId: string) => `user:${userId}:runs`,
  threadRuns: (userId: string, threadId: string) => `user:${userId}:thread:${threadId}:runs`,
} as const;

/** Runs of one user queued or running at once (MAX_RUNS_PER_USER). */
export const DEFAULT_MAX_RUNS_PER_USER = 4;
/** Requests queued or running across all users (MAX_PENDING_RUNS). */
export const DEFAULT_MAX_PENDING_RUNS = 10_000;

export const DEFAULT_RUN_RETENTION_SECONDS = 3600;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** W3C Trace Context `traceparent`, version 00 (https://www.w3.org/TR/trace-context/). */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const AgentRequestSchema = z.object({
  run_id: IdSchema,
  thread_id: IdSchema,
  user_id: IdSchema,
  session_id: IdSchema,
  content: z.string().min(1).max(MAX_CHAT_CHARS),
  request_id: z.string().max(256),
  requested_at: TimestampSchema,
  /** W3C trace context of the chat that asked for the run (optional: set when tracing is on). */
  traceparent: z.string().regex(TRACEPARENT).optional(),
});
export type AgentRequest = z.infer<typeof AgentRequestSchema>;

/** What is published on `user:<user_id>:events`. */
export const BusEventSchema = z.object({
  user_id: IdSchema,
  event: AgentEventSchema,
});
export type BusEvent = z.infer<typeof BusEventSchema>;
