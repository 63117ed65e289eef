import { z } from 'zod';
import { MAX_CHAT_CHARS, MAX_ID_CHARS } from './protocol';
import { EventIdSchema, IdSchema } from './server-messages';

export const ClientMsgIdSchema = z.string().min(1).max(MAX_ID_CHARS);

export const ChatSchema = z.object({
  type: z.literal('chat'),
  content: z.string().min(1).max(MAX_CHAT_CHARS),
  thread_id: IdSchema.optional(),
  client_msg_id: ClientMsgIdSchema.optional(),
});
export const PingSchema = z.object({
  type: z.literal('ping'),
  client_msg_id: ClientMsgIdSchema.optional(),
});
export const ReauthSchema = z.object({
  type: z.literal('reauth'),
  ticket: z.string().min(1).max(256),
  client_msg_id: ClientMsgIdSchema.optional(),
});
export const ResumeSchema = z.object({
  type: z.literal('resume'),
  run_id: IdSchema,
  after_event_id: z.number().int().nonnegative().optional(),
  client_msg_id: ClientMsgIdSchema.optional(),
});
export const CancelSchema = z.object({
  type: z.literal('cancel'),
  run_id: IdSchema,
  client_msg_id: ClientMsgIdSchema.optional(),
});

export const ClientMessageSchema = z.discriminatedUnion('type', [
  ChatSchema,
  PingSchema,
  ReauthSchema,
  ResumeSchema,
  CancelSchema,
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export type ClientMessageOf<T extends ClientMessageType> = Extract<ClientMessage, { type: T }>;

// Re-exported for callers that only need client-side ids.
export { EventIdSchema };
