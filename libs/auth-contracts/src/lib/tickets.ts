import { z } from 'zod';
import { UserSchema } from './users';

/**
 * A ticket is 32 bytes (256 bits) from a CSPRNG, base64url without padding:
 * 43 characters. base64url is also a valid RFC 6455 subprotocol token, which
 * is what lets the ticket ride in `Sec-WebSocket-Protocol: ticket.<ticket>`.
 * Up to 128 characters are accepted so the length can grow without a v2.
 */
export const TICKET_BYTES = 32;
export const TICKET_PATTERN = /^[A-Za-z0-9_-]{43,128}$/;
export const DEFAULT_TICKET_TTL_SECONDS = 30;

export function isWellFormedTicket(value: unknown): value is string {
  return typeof value === 'string' && TICKET_PATTERN.test(value);
}

export const TicketSchema = z.string().regex(TICKET_PATTERN, 'malformed ticket');

/** 201 of `POST /websocket/ticket`. `expires_at` is ISO 8601 UTC. */
export const TicketResponseSchema = z.object({
  ticket: TicketSchema,
  expires_in: z.number().int().positive(),
  expires_at: z.iso.datetime(),
});
export type TicketResponse = z.infer<typeof TicketResponseSchema>;

/** Body of `POST /internal/tickets/exchange` (gateway to auth-service). */
export const TicketExchangeRequestSchema = z.object({
  ticket: z.string().min(1).max(256),
  origin: z.string().max(2048).optional(),
});
export type TicketExchangeRequest = z.infer<typeof TicketExchangeRequestSchema>;

/** 200 of the exchange: the user context, handed over exactly once. */
export const TicketExchangeResponseSchema = z.object({
  user: UserSchema,
  session_id: z.string().min(1),
  auth_expires_at: z.iso.datetime(),
  ticket_issued_at: z.iso.datetime(),
});
export type TicketExchangeResponse = z.infer<typeof TicketExchangeResponseSchema>;

/**
 * The exchange credential both services fall back to in development, so
 * `npm start` works with no configuration. Production refuses it.
 */
export const DEVELOPMENT_EXCHANGE_CLIENT_KEY = 'development-only-exchange-key-not-for-production';
