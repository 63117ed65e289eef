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
  /**
   * The token was rotated moments ago (within the reuse interval) and its
   * successor is still unused: a retry, answered with that same successor.
   */
  | { status: 'retried'; session_id: string; sealed_successor: string }
  /** The token was valid once but has already been rotated: a replay. */
  | { status: 'reused'; session_id: string }
  | { status: 'unknown' };

/**
 * What a rotation keeps so that a retry inside the reuse interval gets the
 * same successor: the successor sealed under the old token (see
 * successor-seal.ts), never the raw token, kept for `seconds` at most.
 */
export interface ReuseGrace {
  sealedSuccessor: string;
  seconds: number;
}

/**
 * Sessions and their refresh tokens (stored only as hashes). Rotation is
 * atomic: of concurrent refreshes with one token, one rotates and the others
 * read `retried` (inside the reuse interval, while the successor is unused)
 * or `reused` (without a grace, after the interval, or once the successor
 * has itself been rotated).
 */
export interface SessionStore {
  create(session: SessionRecord, refreshHash: string, ttlSeconds: number): Promise<void>;
  get(id: string): Promise<SessionRecord | null>;
  rotateRefresh(
    oldHash: string,
    newHash: string,
    ttlSeconds: number,
    grace?: ReuseGrace,
  ): Promise<RotateResult>;
  /** True when this call revoked it; false when it was revoked already or is unknown. */
  revoke(id: string, reason: RevocationReason, at: string): Promise<boolean>;
  listByUser(userId: string): Promise<string[]>;
}
export const SESSION_STORE = Symbol('SESSION_STORE');
