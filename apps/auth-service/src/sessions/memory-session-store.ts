import type { RevocationReason } from '@admitone/auth-contracts';
import { ReuseGrace, RotateResult, SessionRecord, SessionStore } from './session-store';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Expiring<SessionRecord>>();
  private readonly refresh = new Map<
    string,
    Expiring<{ session_id: string; state: 'active' | 'rotated'; successor?: string }>
  >();
  /** The sealed successor of a rotated token, for the reuse interval only. */
  private readonly grace = new Map<string, Expiring<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  private live<T>(map: Map<string, Expiring<T>>, key: string): T | null {
    const entry = map.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      map.delete(key);
      return null;
    }
    return entry.value;
  }

  async create(session: SessionRecord, refreshHash: string, ttlSeconds: number): Promise<void> {
    const expiresAt = this.now() + ttlSeconds * 1000;
    this.sessions.set(session.id, { value: { ...session }, expiresAt });
    this.refresh.set(refreshHash, {
      value: { session_id: session.id, state: 'active' },
      expiresAt,
    });
  }

  async get(id: string): Promise<SessionRecord | null> {
    const s = this.live(this.sessions, id);
    return s ? { ...s } : null;
  }

  /** Synchronous from lookup to update, so as atomic as the Redis script. */
  async rotateRefresh(
    oldHash: string,
    newHash: string,
    ttlSeconds: number,
    grace?: ReuseGrace,
  ): Promise<RotateResult> {
    const entry = this.live(this.refresh, oldHash);
    if (!entry) return { status: 'unknown' };
    if (entry.state !== 'active') {
      const sealed = this.live(this.grace, oldHash);
      const successor = entry.successor ? this.live(this.refresh, entry.successor) : null;
      if (sealed && successor?.state === 'active')
        return { status: 'retried', session_id: entry.session_id, sealed_successor: sealed };
      return { status: 'reused', session_id: entry.session_id };
    }
    entry.state = 'rotated';
    entry.successor = newHash;
    if (grace && grace.seconds > 0)
      this.grace.set(oldHash, {
        value: grace.sealedSuccessor,
        expiresAt: this.now() + grace.seconds * 1000,
      });
    const expiresAt = this.now() + ttlSeconds * 1000;
    this.refresh.set(newHash, {
      value: { session_id: entry.session_id, state: 'active' },
      expiresAt,
    });
    const session = this.sessions.get(entry.session_id);
    if (session) session.expiresAt = expiresAt;
    return { status: 'rotated', session_id: entry.session_id };
  }

  async revoke(id: string, reason: RevocationReason, at: string): Promise<boolean> {
    const s = this.live(this.sessions, id);
    if (!s || s.revoked_at) return false;
    s.revoked_at = at;
    s.revoke_reason = reason;
    return true;
  }

  async listByUser(userId: string): Promise<string[]> {
    return [...this.sessions.keys()].filter(
      (id) => this.live(this.sessions, id)?.user_id === userId,
    );
  }
}
