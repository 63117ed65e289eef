import { randomBytes, randomUUID } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import { MemorySessionStore } from './memory-session-store';
import { RedisSessionStore } from './redis-session-store';
import { SessionRecord, SessionStore } from './session-store';

/**
 * The SessionStore contract, run against both adapters so they cannot drift.
 * Each test gets a store of its own (for Redis, a key prefix of its own under
 * the file's prefix); the concurrency test spreads the racing refreshes over
 * several Redis connections, as separate replicas would.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newHash = () => randomBytes(32).toString('hex');

function sessionRecord(userId = 'user-1'): SessionRecord {
  return { id: randomUUID(), user_id: userId, created_at: new Date().toISOString() };
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  await redis?.cleanup();
});

describe.each(['memory', 'redis'] as const)('SessionStore contract (%s)', (adapter) => {
  const extraConnections: Redis[] = [];
  let store: SessionStore;
  /** Stores over the same sessions as `store`; for Redis, each on its own connection. */
  let replicas: SessionStore[];

  beforeAll(async () => {
    if (adapter === 'memory') return;
    for (let i = 0; i < 4; i++) {
      const connection = redis.client.duplicate();
      await connection.connect();
      extraConnections.push(connection);
    }
  });
  afterAll(async () => {
    await Promise.all(extraConnections.map((c) => c.quit()));
  });
  beforeEach(() => {
    if (adapter === 'memory') {
      store = new MemorySessionStore();
      replicas = [store];
      return;
    }
    const prefix = `${redis.prefix}${randomUUID().slice(0, 8)}:`;
    store = new RedisSessionStore(redis.client, prefix);
    replicas = [store, ...extraConnections.map((c) => new RedisSessionStore(c, prefix))];
  });

  it('returns a created session by id, not revoked', async () => {
    const session = sessionRecord();
    await store.create(session, newHash(), 60);
    const found = await store.get(session.id);
    expect(found).toEqual(session);
    expect(found?.revoked_at).toBeUndefined();
    expect(found?.revoke_reason).toBeUndefined();
  });

  it('returns null for a session id it never saw', async () => {
    expect(await store.get(randomUUID())).toBeNull();
  });

  it('rotates a refresh token once, then reads the old token as reused with its session', async () => {
    const session = sessionRecord();
    const first = newHash();
    await store.create(session, first, 60);
    expect(await store.rotateRefresh(first, newHash(), 60)).toEqual({
      status: 'rotated',
      session_id: session.id,
    });
    expect(await store.rotateRefresh(first, newHash(), 60)).toEqual({
      status: 'reused',
      session_id: session.id,
    });
  });

  it('reads a refresh token hash it never saw as unknown', async () => {
    expect(await store.rotateRefresh(newHash(), newHash(), 60)).toEqual({ status: 'unknown' });
  });

  it('lets the new refresh token rotate again, and the one after that', async () => {
    const session = sessionRecord();
    const hashes = [newHash(), newHash(), newHash()];
    await store.create(session, hashes[0], 60);
    expect((await store.rotateRefresh(hashes[0], hashes[1], 60)).status).toBe('rotated');
    expect(await store.rotateRefresh(hashes[1], hashes[2], 60)).toEqual({
      status: 'rotated',
      session_id: session.id,
    });
    expect((await store.rotateRefresh(hashes[1], newHash(), 60)).status).toBe('reused');
  });

  it('lets exactly one of 20 concurrent rotations of one token rotate; the rest read reused', async () => {
    const session = sessionRecord();
    const original = newHash();
    await store.create(session, original, 60);
    const candidates = Array.from({ length: 20 }, () => newHash());
    const results = await Promise.all(
      candidates.map((next, i) => replicas[i % replicas.length].rotateRefresh(original, next, 60)),
    );
    const winners = results.flatMap((r, i) => (r.status === 'rotated' ? [candidates[i]] : []));
    expect(winners).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 'rotated'))
      expect(r).toEqual({ status: 'reused', session_id: session.id });

    // Only the winner's new token is live; the losers' would-be tokens were never stored.
    const losers = candidates.filter((c) => c !== winners[0]);
    for (const loser of losers)
      expect(await store.rotateRefresh(loser, newHash(), 60)).toEqual({ status: 'unknown' });
    expect(await store.rotateRefresh(winners[0], newHash(), 60)).toEqual({
      status: 'rotated',
      session_id: session.id,
    });
  });

  describe('reuse interval', () => {
    const grace = (sealed: string, seconds = 30) => ({ sealedSuccessor: sealed, seconds });

    it('answers a rotated token presented again with its sealed successor, not reused', async () => {
      const session = sessionRecord();
      const [first, second] = [newHash(), newHash()];
      await store.create(session, first, 60);
      expect(await store.rotateRefresh(first, second, 60, grace('sealed-2'))).toEqual({
        status: 'rotated',
        session_id: session.id,
      });
      for (let i = 0; i < 2; i++)
        expect(await store.rotateRefresh(first, newHash(), 60, grace('other'))).toEqual({
          status: 'retried',
          session_id: session.id,
          sealed_successor: 'sealed-2',
        });
      // The retries stored nothing new: the successor is still the one live token.
      expect((await store.rotateRefresh(second, newHash(), 60)).status).toBe('rotated');
    });

    it('gives all of 20 concurrent rotations of one token one successor: one rotates, 19 retry', async () => {
      const session = sessionRecord();
      const original = newHash();
      await store.create(session, original, 60);
      const candidates = Array.from({ length: 20 }, (_, i) => ({
        hash: newHash(),
        sealed: `s${i}`,
      }));
      const results = await Promise.all(
        candidates.map((c, i) =>
          replicas[i % replicas.length].rotateRefresh(original, c.hash, 60, grace(c.sealed)),
        ),
      );
      const winners = candidates.filter((_, i) => results[i].status === 'rotated');
      expect(winners).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 'rotated'))
        expect(r).toEqual({
          status: 'retried',
          session_id: session.id,
          sealed_successor: winners[0].sealed,
        });
      expect((await store.rotateRefresh(winners[0].hash, newHash(), 60)).status).toBe('rotated');
    });

    it('reads reused once the interval has passed', async () => {
      const session = sessionRecord();
      const first = newHash();
      await store.create(session, first, 60);
      await store.rotateRefresh(first, newHash(), 60, grace('sealed', 0.3));
      await sleep(450);
      expect(await store.rotateRefresh(first, newHash(), 60, grace('x'))).toEqual({
        status: 'reused',
        session_id: session.id,
      });
    });

    it('reads reused, inside the interval, once the successor has itself been rotated', async () => {
      const session = sessionRecord();
      const [first, second] = [newHash(), newHash()];
      await store.create(session, first, 60);
      await store.rotateRefresh(first, second, 60, grace('sealed-2'));
      await store.rotateRefresh(second, newHash(), 60, grace('sealed-3'));
      expect(await store.rotateRefresh(first, newHash(), 60, grace('x'))).toEqual({
        status: 'reused',
        session_id: session.id,
      });
    });

    it('keeps no grace when the rotation had none (interval 0)', async () => {
      const session = sessionRecord();
      const first = newHash();
      await store.create(session, first, 60);
      await store.rotateRefresh(first, newHash(), 60);
      expect((await store.rotateRefresh(first, newHash(), 60, grace('x'))).status).toBe('reused');
    });
  });

  it('revokes a session once: true, then false, and get shows when and why', async () => {
    const session = sessionRecord();
    await store.create(session, newHash(), 60);
    const at = '2030-01-01T00:00:00.000Z';
    expect(await store.revoke(session.id, 'logout', at)).toBe(true);
    expect(await store.revoke(session.id, 'user_disabled', '2030-01-02T00:00:00.000Z')).toBe(false);
    expect(await store.get(session.id)).toEqual({
      ...session,
      revoked_at: at,
      revoke_reason: 'logout',
    });
  });

  it('refuses to revoke a session it never saw', async () => {
    expect(await store.revoke(randomUUID(), 'logout', new Date().toISOString())).toBe(false);
    expect(await store.get(randomUUID())).toBeNull();
  });

  it("lists a user's sessions, revoked ones included, and no one else's", async () => {
    const [a1, a2] = [sessionRecord('alice'), sessionRecord('alice')];
    const b1 = sessionRecord('bob');
    for (const s of [a1, a2, b1]) await store.create(s, newHash(), 60);
    await store.revoke(a2.id, 'logout', new Date().toISOString());
    expect((await store.listByUser('alice')).sort()).toEqual([a1.id, a2.id].sort());
    expect(await store.listByUser('bob')).toEqual([b1.id]);
    expect(await store.listByUser('nobody')).toEqual([]);
  });

  it('forgets an expired session and its refresh token, and stops listing it', async () => {
    const expiring = sessionRecord('carol');
    const lasting = sessionRecord('carol');
    const refresh = newHash();
    await store.create(expiring, refresh, 1);
    await store.create(lasting, newHash(), 60);
    await sleep(1100);
    expect(await store.get(expiring.id)).toBeNull();
    expect(await store.rotateRefresh(refresh, newHash(), 60)).toEqual({ status: 'unknown' });
    expect(await store.listByUser('carol')).toEqual([lasting.id]);
  });

  it('extends a session on rotation, so it is still found and listed after its first TTL', async () => {
    const session = sessionRecord('dave');
    const first = newHash();
    const second = newHash();
    await store.create(session, first, 1);
    expect((await store.rotateRefresh(first, second, 60)).status).toBe('rotated');
    await sleep(1100);
    expect(await store.get(session.id)).toEqual(session);
    expect(await store.listByUser('dave')).toEqual([session.id]);
    expect((await store.rotateRefresh(second, newHash(), 60)).status).toBe('rotated');
  });
});
