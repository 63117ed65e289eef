import { randomUUID } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import { MemoryUserStore } from './memory-user-store';
import { RedisUserStore } from './redis-user-store';
import { UserRecord, UserStore } from './user-store';

/**
 * The UserStore contract, run against both adapters so they cannot drift.
 * Each test gets a store of its own (for Redis, a key prefix of its own under
 * the file's prefix), so `list` sees only that test's users. The race spreads
 * its creates over several Redis connections, as separate replicas would.
 */
function userRecord(email: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: randomUUID(),
    email,
    password_hash: `$argon2id$v=19$m=19456,t=2,p=1$${randomUUID()}`,
    roles: ['user'],
    disabled: false,
    created_at: new Date().toISOString(),
    ...overrides,
  };
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  await redis?.cleanup();
});

describe.each(['memory', 'redis'] as const)('UserStore contract (%s)', (adapter) => {
  const extraConnections: Redis[] = [];
  let store: UserStore;
  /** Stores over the same users as `store`; for Redis, each on its own connection. */
  let replicas: UserStore[];

  beforeAll(async () => {
    if (adapter === 'memory') return;
    for (let i = 0; i < 4; i++) {
      const connection = redis.client.duplicate();
      if (connection.status !== 'ready') await connection.connect();
      extraConnections.push(connection);
    }
  });
  afterAll(async () => {
    await Promise.all(extraConnections.map((c) => c.quit()));
  });
  beforeEach(() => {
    if (adapter === 'memory') {
      store = new MemoryUserStore();
      replicas = [store];
      return;
    }
    const prefix = `${redis.prefix}${randomUUID().slice(0, 8)}:`;
    store = new RedisUserStore(redis.client, prefix);
    replicas = [store, ...extraConnections.map((c) => new RedisUserStore(c, prefix))];
  });

  it('creates a user and finds it by id and by email', async () => {
    const user = userRecord('alice@example.com', { roles: ['admin', 'user'] });
    expect(await store.create(user)).toBe(true);
    expect(await store.findById(user.id)).toEqual(user);
    expect(await store.findByEmail('alice@example.com')).toEqual(user);
  });

  it('finds no user for an unknown id or email', async () => {
    await store.create(userRecord('alice@example.com'));
    expect(await store.findById(randomUUID())).toBeNull();
    expect(await store.findByEmail('nobody@example.com')).toBeNull();
  });

  it('refuses a second user with a taken email and keeps the first', async () => {
    const first = userRecord('taken@example.com');
    const second = userRecord('taken@example.com', { roles: ['admin'] });
    expect(await store.create(first)).toBe(true);
    expect(await store.create(second)).toBe(false);
    expect(await store.findByEmail('taken@example.com')).toEqual(first);
    expect(await store.findById(second.id)).toBeNull();
    expect(await store.list()).toEqual([first]);
  });

  it('lets exactly one of 10 concurrent creates of one email succeed, across connections', async () => {
    const candidates = Array.from({ length: 10 }, () => userRecord('race@example.com'));
    const results = await Promise.all(
      candidates.map((u, i) => replicas[i % replicas.length].create(u)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = candidates[results.indexOf(true)];
    expect(await store.findByEmail('race@example.com')).toEqual(winner);
    expect(await store.list()).toEqual([winner]);
  });

  it('disables and re-enables a user', async () => {
    const user = userRecord('bob@example.com');
    await store.create(user);
    await store.setDisabled(user.id, true);
    expect(await store.findById(user.id)).toEqual({ ...user, disabled: true });
    expect((await store.findByEmail('bob@example.com'))?.disabled).toBe(true);
    await store.setDisabled(user.id, false);
    expect(await store.findById(user.id)).toEqual(user);
  });

  it("replaces a user's password hash and nothing else", async () => {
    const user = userRecord('carol@example.com');
    await store.create(user);
    await store.setPassword(user.id, '$argon2id$new-hash');
    expect(await store.findById(user.id)).toEqual({ ...user, password_hash: '$argon2id$new-hash' });
  });

  it('lists every user sorted by email', async () => {
    const users = [
      'mallory@example.com',
      'alice@example.com',
      'zed@example.com',
      'bob@example.com',
    ].map((email) => userRecord(email));
    for (const u of users) await store.create(u);
    const listed = await store.list();
    expect(listed.map((u) => u.email)).toEqual([
      'alice@example.com',
      'bob@example.com',
      'mallory@example.com',
      'zed@example.com',
    ]);
    expect(listed).toEqual(expect.arrayContaining(users));
  });

  it('lists nobody when empty', async () => {
    expect(await store.list()).toEqual([]);
  });

  it('hands out copies: changing a returned record does not change the stored user', async () => {
    const user = userRecord('dora@example.com');
    await store.create(user);
    const found = await store.findById(user.id);
    found?.roles.push('admin');
    if (found) found.disabled = true;
    expect(await store.findById(user.id)).toEqual(user);
  });
});
