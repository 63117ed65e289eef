import Redis from 'ioredis';
import { connectTestRedis, createTestDatabase, TestDatabase, TestRedis } from '@admitone/testing';
import { PrivateRedis } from '../support/agent-client';
import { errorBody, getJson, login, postJson } from '../support/auth-client';
import { AuthStack, PASSWORD, startAuth, USERS } from '../support/gateway-stack';
import { usersCli } from '../support/faults';
import { eventually, stopAllServices } from '../support/service-process';

/**
 * Accounts live in PostgreSQL, so Redis holds only what may expire. Killing
 * Redis and starting it again empty loses sessions and tickets, never a
 * user: the same people log in again without anything being restored, and
 * a user added with the users CLI is in the database, not in Redis.
 */
describe('accounts in PostgreSQL survive an emptied Redis', () => {
  let server: PrivateRedis;
  let redis: TestRedis;
  let database: TestDatabase;
  let stack: AuthStack;

  beforeAll(async () => {
    [server, database] = await Promise.all([PrivateRedis.start(), createTestDatabase()]);
    redis = await connectTestRedis(undefined, server.url);
    stack = await startAuth(redis, { DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await stopAllServices();
    if (redis?.client.status === 'ready') await redis.client.quit();
    await server?.kill();
    await database?.cleanup();
  });

  it('keeps every account in the database and none in Redis', async () => {
    const rows = await database.query<{ email: string; password_hash: string }>(
      'SELECT email, password_hash FROM users ORDER BY email',
    );
    expect(rows.map((r) => r.email)).toEqual([...USERS].sort());
    for (const row of rows) {
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    }
    expect(await redis.keys('user*')).toEqual([]);
  });

  it('adds a user with the CLI into the database, and that user can log in', async () => {
    const added = await usersCli(['add', 'frank@example.com'], {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      DATABASE_URL: database.url,
      USER_PASSWORD: 'frank-password-1',
    });
    expect(added.stderr).not.toContain('frank-password-1');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ email: 'frank@example.com', roles: ['user'] });
    const rows = await database.query('SELECT email FROM users WHERE email = $1', [
      'frank@example.com',
    ]);
    expect(rows).toHaveLength(1);
    expect((await login(stack.auth.url, 'frank@example.com', 'frank-password-1')).user.email).toBe(
      'frank@example.com',
    );
  });

  it('logs the same users in again after Redis is killed and restarted empty', async () => {
    const before = await login(stack.auth.url, USERS[0], PASSWORD);

    await server.kill();
    const down = await postJson(`${stack.auth.url}/auth/login`, {
      email: USERS[0],
      password: PASSWORD,
    });
    // Accounts are reachable, but a session cannot be stored: a clear 503, never a 500.
    expect(down.status).toBe(503);
    expect(errorBody(down).error).toBe('unavailable');

    await server.start();
    const fresh = new Redis(server.url, { maxRetriesPerRequest: 1 });
    expect(await fresh.dbsize()).toBe(0);
    await fresh.quit();
    await eventually(
      async () => (await getJson(`${stack.auth.url}/health/ready`)).status === 200,
      'auth-service to be ready again',
      15_000,
    );

    // Nothing was restored: the users come from PostgreSQL.
    const after = await login(stack.auth.url, USERS[0], PASSWORD);
    expect(after.user).toEqual(before.user);
    const frank = await login(stack.auth.url, 'frank@example.com', 'frank-password-1');
    expect(frank.user.email).toBe('frank@example.com');
    // The session that lived in the old Redis is gone.
    const refresh = await postJson(`${stack.auth.url}/auth/refresh`, {
      refresh_token: before.refresh_token,
    });
    expect(refresh.status).toBe(401);
  });

  it('reports the database in readiness', async () => {
    const ready = await getJson(`${stack.auth.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ checks: { database: 'up', redis: 'up' } });
  });
});
