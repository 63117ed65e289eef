import type { RevocationReason } from '@admitone/auth-contracts';
import { RotateResult, SessionRecord, SessionStore } from './session-store';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Expiring<SessionRecord>>();
  private readonly refresh = new Map<
    string,
    Expiring<{ session_id: string; state: 'active' | 'rotated' }>
  >();

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

  async rotateRefresh(oldHash: string, newHash: string, ttlSeconds: number): Promise<RotateResult> {
    const entry = this.live(this.refresh, oldHash);
    if (!entry) return { status: 'unknown' };
    if (entry.state !== 'active') return { status: 'reused', session_id: entry.session_id };
    entry.state = 'rotated';
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
