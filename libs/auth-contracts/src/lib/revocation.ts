import { z } from 'zod';

/**
 * Session revocations, published by auth-service on a Redis pub/sub channel
 * (`<REDIS_PREFIX>sessions:revoked`) and consumed by every gateway replica,
 * which closes that session's sockets with 4403. Pub/sub is lossy while a
 * subscriber is cut off, so gateways also re-check live sessions with
 * auth-service periodically; this message is the fast path, not the only one.
 */
export const SESSION_REVOKED_CHANNEL = 'sessions:revoked';

export const REVOCATION_REASONS = ['logout', 'user_disabled', 'refresh_token_reused'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

export const SessionRevokedMessageSchema = z.object({
  type: z.literal('session_revoked'),
  session_id: z.string().min(1),
  user_id: z.string().min(1),
  reason: z.enum(REVOCATION_REASONS),
  revoked_at: z.iso.datetime(),
});
export type SessionRevokedMessage = z.infer<typeof SessionRevokedMessageSchema>;

/**
 * `POST /internal/sessions/status` (service credential): which of these
 * sessions are no longer active (revoked, expired or unknown). Gateways call
 * it periodically for their live sockets, so a revocation missed while cut
 * off from Redis still takes effect.
 */
export const SESSION_STATUS_MAX_IDS = 1000;
export const SESSION_ID_MAX_CHARS = 128;
/**
 * The largest body `POST /internal/sessions/status` accepts: the documented
 * maximum (1,000 ids of 128 characters, about 131 KB as JSON) with room to
 * spare. Every other endpoint keeps the 32 KiB JSON limit; a caller still
 * splits its ids so that no request passes this.
 */
export const SESSION_STATUS_MAX_BODY_BYTES = 160 * 1024;
export const SessionStatusRequestSchema = z.object({
  session_ids: z.array(z.string().min(1).max(SESSION_ID_MAX_CHARS)).max(SESSION_STATUS_MAX_IDS),
});
export type SessionStatusRequest = z.infer<typeof SessionStatusRequestSchema>;
export const SessionStatusResponseSchema = z.object({
  inactive: z.array(z.string()),
});
export type SessionStatusResponse = z.infer<typeof SessionStatusResponseSchema>;
