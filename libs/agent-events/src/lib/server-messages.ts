import { z } from 'zod';
import { MAX_ID_CHARS, SUBPROTOCOL } from './protocol';
import { WS_ERROR_CODES } from './error-codes';
import { JsonValueSchema } from './json';

/** Timestamps on the wire are ISO 8601 UTC strings. */
export const TimestampSchema = z.iso.datetime();
export const IdSchema = z.string().min(1).max(MAX_ID_CHARS);
/** Unique and increasing within a run, starting at 1. */
export const EventIdSchema = z.number().int().positive();

export const ConnectionEstablishedSchema = z.object({
  type: z.literal('connection_established'),
  connection_id: IdSchema,
  user_id: IdSchema,
  protocol: z.literal(SUBPROTOCOL),
  auth_expires_at: TimestampSchema,
  server_time: TimestampSchema,
  heartbeat_interval_ms: z.number().int().positive(),
  connection_ready: z.literal(true),
});

const runEvent = {
  run_id: IdSchema,
  thread_id: IdSchema,
  event_id: EventIdSchema,
  ts: TimestampSchema,
};

export const AgentStartedSchema = z.object({ type: z.literal('agent_started'), ...runEvent });
export const AgentThinkingSchema = z.object({
  type: z.literal('agent_thinking'),
  ...runEvent,
  text: z.string(),
});
export const ToolExecutingSchema = z.object({
  type: z.literal('tool_executing'),
  ...runEvent,
  tool: z.string().min(1),
  call_id: IdSchema,
  input: JsonValueSchema,
});
export const ToolCompletedSchema = z
  .object({
    type: z.literal('tool_completed'),
    ...runEvent,
    tool: z.string().min(1),
    call_id: IdSchema,
    output: JsonValueSchema.optional(),
    error: z.string().optional(),
  })
  .refine((m) => (m.output === undefined) !== (m.error === undefined), {
    message: 'exactly one of output and error',
  });
export const AgentCompletedSchema = z.object({
  type: z.literal('agent_completed'),
  ...runEvent,
  result: z.string(),
});
export const AgentFailedSchema = z.object({
  type: z.literal('agent_failed'),
  ...runEvent,
  error: z.string(),
});

/** The events of one run, in the causal order they are delivered. */
export const AgentEventSchema = z.discriminatedUnion('type', [
  AgentStartedSchema,
  AgentThinkingSchema,
  ToolExecutingSchema,
  ToolCompletedSchema,
  AgentCompletedSchema,
  AgentFailedSchema,
]);
export type AgentEvent = z.infer<typeof AgentEventSchema>;
export type AgentEventType = AgentEvent['type'];
export const TERMINAL_EVENT_TYPES: readonly AgentEventType[] = ['agent_completed', 'agent_failed'];

export const AuthExpiringSchema = z.object({
  type: z.literal('auth_expiring'),
  auth_expires_at: TimestampSchema,
});
export const ReauthOkSchema = z.object({
  type: z.literal('reauth_ok'),
  auth_expires_at: TimestampSchema,
});
export const PongSchema = z.object({ type: z.literal('pong'), ts: TimestampSchema });
export const ErrorEventSchema = z.object({
  type: z.literal('error'),
  code: z.enum(WS_ERROR_CODES),
  message: z.string(),
  ref: z.string().max(MAX_ID_CHARS).optional(),
});

export const ServerMessageSchema = z.discriminatedUnion('type', [
  ConnectionEstablishedSchema,
  AgentStartedSchema,
  AgentThinkingSchema,
  ToolExecutingSchema,
  ToolCompletedSchema,
  AgentCompletedSchema,
  AgentFailedSchema,
  AuthExpiringSchema,
  ReauthOkSchema,
  PongSchema,
  ErrorEventSchema,
]);
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type ServerMessageType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerMessageType> = Extract<ServerMessage, { type: T }>;
export type ConnectionEstablished = ServerMessageOf<'connection_established'>;
export type ErrorEvent = ServerMessageOf<'error'>;
