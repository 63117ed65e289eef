import type { RevocationReason } from '@admitone/auth-contracts';
import type Redis from 'ioredis';
import { ReuseGrace, RotateResult, SessionRecord, SessionStore } from './session-store';

/**
 * Keys: `session:<id>` (hash), `refresh:<sha256>` (hash: session_id, state,
 * successor = the successor's sha256 once rotated), `refresh-grace:<sha256>`
 * (string: the successor sealed under the old token, expiring after the reuse
 * interval), `user-sessions:<user>` (set). Rotation and revocation are Lua
 * scripts, so each is one atomic step however many replicas race on it.
 * Rotation extends the session, its new refresh token and the user's index
 * together, so a session outliving its first TTL is still found (and
 * revoked) by user. A rotated token presented again reads `retried` only
 * while its grace key lives and its successor is still active.
 *
 * KEYS: old refresh, new refresh, old grace. ARGV: ttl, session prefix,
 * user-sessions prefix, refresh prefix, new hash, grace ms (0: none), sealed.
 */
const ROTATE = `
local sid = redis.call('HGET', KEYS[1], 'session_id')
if not sid then return {'unknown'} end
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then
  local sealed = redis.call('GET', KEYS[3])
  local successor = redis.call('HGET', KEYS[1], 'successor')
  if sealed and successor and redis.call('HGET', ARGV[4] .. successor, 'state') == 'active' then
    return {'retried', sid, sealed}
  end
  return {'reused', sid}
end
redis.call('HSET', KEYS[1], 'state', 'rotated', 'successor', ARGV[5])
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[3], ARGV[7], 'PX', ARGV[6]) end
redis.call('HSET', KEYS[2], 'session_id', sid, 'state', 'active')
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('EXPIRE', ARGV[2] .. sid, ARGV[1])
local uid = redis.call('HGET', ARGV[2] .. sid, 'user_id')
if uid then
  local index = ARGV[3] .. uid
  redis.call('SADD', index, sid)
  if redis.call('TTL', index) < tonumber(ARGV[1]) then redis.call('EXPIRE', index, ARGV[1]) end
end
return {'rotated', sid}
`;

const REVOKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1], 'revoke_reason', ARGV[2])
return 1
`;

type ScriptedRedis = Redis & {
  admitoneRotateRefresh(
    oldKey: string,
    newKey: string,
    graceKey: string,
    ttl: number,
    sessionPrefix: string,
    userSessionsPrefix: string,
    refreshPrefix: string,
    newHash: string,
    graceMs: number,
    sealedSuccessor: string,
  ): Promise<string[]>;
  admitoneRevokeSession(key: string, at: string, reason: string): Promise<number>;
};

export class RedisSessionStore implements SessionStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('admitoneRotateRefresh' in redis)) {
      redis.defineCommand('admitoneRotateRefresh', { numberOfKeys: 3, lua: ROTATE });
      redis.defineCommand('admitoneRevokeSession', { numberOfKeys: 1, lua: REVOKE });
    }
    this.redis = redis as ScriptedRedis;
  }

  private sessionKey(id: string): string {
    return `${this.prefix}session:${id}`;
  }

  async create(session: SessionRecord, refreshHash: string, ttlSeconds: number): Promise<void> {
    const userSessions = `${this.prefix}user-sessions:${session.user_id}`;
    await this.redis
      .multi()
      .hset(this.sessionKey(session.id), {
        id: session.id,
        user_id: session.user_id,
        created_at: session.created_at,
      })
      .expire(this.sessionKey(session.id), ttlSeconds)
      .hset(`${this.prefix}refresh:${refreshHash}`, { session_id: session.id, state: 'active' })
      .expire(`${this.prefix}refresh:${refreshHash}`, ttlSeconds)
      .sadd(userSessions, session.id)
      .expire(userSessions, ttlSeconds)
      .exec();
  }

  async get(id: string): Promise<SessionRecord | null> {
    const h = await this.redis.hgetall(this.sessionKey(id));
    if (!h['id']) return null;
    return {
      id: h['id'],
      user_id: h['user_id'] ?? '',
      created_at: h['created_at'] ?? '',
      ...(h['revoked_at']
        ? { revoked_at: h['revoked_at'], revoke_reason: h['revoke_reason'] as RevocationReason }
        : {}),
    };
  }

  async rotateRefresh(
    oldHash: string,
    newHash: string,
    ttlSeconds: number,
    grace?: ReuseGrace,
  ): Promise<RotateResult> {
    const [status, sid, sealed] = await this.redis.admitoneRotateRefresh(
      `${this.prefix}refresh:${oldHash}`,
      `${this.prefix}refresh:${newHash}`,
      `${this.prefix}refresh-grace:${oldHash}`,
      ttlSeconds,
      `${this.prefix}session:`,
      `${this.prefix}user-sessions:`,
      `${this.prefix}refresh:`,
      newHash,
      grace && grace.seconds > 0 ? Math.round(grace.seconds * 1000) : 0,
      grace?.sealedSuccessor ?? '',
    );
    if (status === 'retried') return { status, session_id: sid, sealed_successor: sealed };
    if (status === 'rotated' || status === 'reused') return { status, session_id: sid };
    return { status: 'unknown' };
  }

  async revoke(id: string, reason: RevocationReason, at: string): Promise<boolean> {
    return (await this.redis.admitoneRevokeSession(this.sessionKey(id), at, reason)) === 1;
  }

  /** Live sessions only: ids of expired sessions are dropped from the index as they are met. */
  async listByUser(userId: string): Promise<string[]> {
    const index = `${this.prefix}user-sessions:${userId}`;
    const ids = await this.redis.smembers(index);
    if (ids.length === 0) return [];
    const exists =
      (await this.redis.pipeline(ids.map((id) => ['exists', this.sessionKey(id)])).exec()) ?? [];
    const live: string[] = [];
    const expired: string[] = [];
    ids.forEach((id, i) => {
      const [error, found] = exists[i] ?? [new Error('no reply')];
      if (error) throw error;
      (found === 1 ? live : expired).push(id);
    });
    if (expired.length) await this.redis.srem(index, ...expired);
    return live;
  }
}
