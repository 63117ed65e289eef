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
