import type { RevocationReason } from '@admitone/auth-contracts';

export interface SessionRecord {
  id: string;
  user_id: string;
  created_at: string;
  revoked_at?: string;
  revoke_reason?: RevocationReason;
}

export type RotateResult =
  | { status: 'rotated'; session_id: string }
  /** The token was valid once but has already been rotated: a replay. */
  | { status: 'reused'; session_id: string }
  | { status: 'unknown' };

/**
 * Sessions and their refresh tokens (stored only as hashes). Rotation is
 * atomic: of concurrent refreshes with one token, one rotates and the others
 * read `reused`.
 */
export interface SessionStore {
  create(session: SessionRecord, refreshHash: string, ttlSeconds: number): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  rotateRefresh(oldHash: string, newHash: string, ttlSeconds: number): Promise<RotateResult>;
  /** True when this call revoked it; false when it was revoked already or is unknown. */
  revoke(id: string, reason: RevocationReason, at: string): Promise<boolean>;
  listByUser(userId: string): Promise<string[]>;
}
export const SESSION_STORE = Symbol('SESSION_STORE');
