import { randomUUID } from 'node:crypto';
import { connectTestRedis, createTestDatabase, TestDatabase, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import { AccountsDb, createAccountsDb } from '../database/database';
import { migrateToLatest } from '../database/migrations';
import { MemoryUserStore } from './memory-user-store';
import { PostgresUserStore } from './postgres-user-store';
import { RedisUserStore } from './redis-user-store';
import { UserRecord, UserStore } from './user-store';

/**
 * The UserStore contract, run against every adapter so they cannot drift:
 * PostgreSQL (the system of record), Redis and memory. Each test gets a
 * store of its own (for Redis, a key prefix of its own under the file's
 * prefix; for PostgreSQL, an emptied table), so `list` sees only that test's
 * users. The race spreads
 * its creates over several connections, as separate replicas would (Redis:
 * one client each; PostgreSQL: the pool's connections).
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
let database: TestDatabase;
let db: AccountsDb;
beforeAll(async () => {
  redis = await connectTestRedis();
  database = await createTestDatabase();
  db = createAccountsDb(database.url);
  await migrateToLatest(db);
});
afterAll(async () => {
  await db?.destroy();
  await database?.cleanup();
  await redis?.cleanup();
});

describe.each(['memory', 'redis', 'postgres'] as const)('UserStore contract (%s)', (adapter) => {
  const extraConnections: Redis[] = [];
  let store: UserStore;
  /** Stores over the same users as `store`; for Redis, each on its own connection. */
  let replicas: UserStore[];

  beforeAll(async () => {
    if (adapter !== 'redis') return;
    for (let i = 0; i < 4; i++) {
      const connection = redis.client.duplicate();
      if (connection.status !== 'ready') await connection.connect();
      extraConnections.push(connection);
    }
  });
  afterAll(async () => {
    await Promise.all(extraConnections.map((c) => c.quit()));
  });
  beforeEach(async () => {
    if (adapter === 'memory') {
      store = new MemoryUserStore();
      replicas = [store];
      return;
    }
    if (adapter === 'postgres') {
      await database.query('TRUNCATE users CASCADE');
      store = new PostgresUserStore(db);
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

  it("reads a user's profile without the password hash, and none for an unknown id", async () => {
    const user = userRecord('carol@example.com', { roles: ['admin', 'user'] });
    await store.create(user);
    const profile = await store.findProfileById(user.id);
    expect(profile).toEqual({
      id: user.id,
      email: 'carol@example.com',
      roles: ['admin', 'user'],
      disabled: false,
    });
    expect(profile).not.toHaveProperty('password_hash');
    expect(await store.findProfileById(randomUUID())).toBeNull();
    expect(await store.findProfileById('not-a-uuid')).toBeNull();
  });

  it('reads the disabled flag into the profile as it changes', async () => {
    const user = userRecord('dave@example.com');
    await store.create(user);
    await store.setDisabled(user.id, true);
    expect((await store.findProfileById(user.id))?.disabled).toBe(true);
    await store.setDisabled(user.id, false);
    expect((await store.findProfileById(user.id))?.disabled).toBe(false);
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

  describe('external identities', () => {
    const google = { issuer: 'https://accounts.example.com', subject: '1234567890' };

    it('creates a user linked to an identity, found by iss and sub', async () => {
      const user = userRecord('fed@example.com');
      expect(await store.findIdByIdentity(google)).toBeNull();
      expect(await store.createWithIdentity(user, google)).toBe('created');
      expect(await store.findIdByIdentity(google)).toBe(user.id);
      expect(await store.findById(user.id)).toEqual(user);
    });

    it('tells identities apart by issuer: the same sub at another issuer is another account', async () => {
      const other = { issuer: 'https://login.other.example', subject: google.subject };
      const a = userRecord('a@example.com');
      await store.createWithIdentity(a, google);
      expect(await store.findIdByIdentity(other)).toBeNull();
      const b = userRecord('b@example.com');
      expect(await store.createWithIdentity(b, other)).toBe('created');
      expect(await store.findIdByIdentity(other)).toBe(b.id);
      expect(await store.findIdByIdentity(google)).toBe(a.id);
    });

    it('never links an identity to an existing account by email, and creates nothing then', async () => {
      const local = userRecord('taken@example.com');
      await store.create(local);
      const federated = userRecord('taken@example.com');
      expect(await store.createWithIdentity(federated, google)).toBe('email_taken');
      expect(await store.findIdByIdentity(google)).toBeNull();
      expect(await store.findById(federated.id)).toBeNull();
      expect(await store.list()).toEqual([local]);
    });

    it('lets exactly one of 10 concurrent first sign-ins of one identity create the account', async () => {
      const candidates = Array.from({ length: 10 }, (_, i) => userRecord(`race${i}@example.com`));
      const results = await Promise.all(
        candidates.map((u, i) => replicas[i % replicas.length].createWithIdentity(u, google)),
      );
      expect(results.filter((r) => r === 'created')).toHaveLength(1);
      expect(results.filter((r) => r === 'identity_taken')).toHaveLength(9);
      const winner = candidates[results.indexOf('created')];
      expect(await store.findIdByIdentity(google)).toBe(winner.id);
      expect(await store.list()).toEqual([winner]);
    });
  });
});
