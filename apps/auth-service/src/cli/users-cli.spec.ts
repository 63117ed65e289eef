import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  SESSION_REVOKED_CHANNEL,
  SessionRevokedMessage,
  SessionRevokedMessageSchema,
} from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import { RedisSessionStore } from '../sessions/redis-session-store';
import { verifyPassword } from '../users/password-hasher';
import { RedisUserStore } from '../users/redis-user-store';

/**
 * Runs the built CLI (`nx build auth-service`; the test target depends on it)
 * as a real process against a real Redis, as an operator would. Every run's
 * output is checked for the passwords, so no path can leak one unnoticed.
 */
jest.setTimeout(30_000);

const CLI = join(__dirname, '../../../../dist/apps/auth-service/users-cli.js');
const PASSWORDS = ['correct-horse-battery-staple-7f3a', 'piped-password-9c21', 'Second!line'];

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

let redis: TestRedis;
let users: RedisUserStore;

beforeAll(async () => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npx nx build auth-service\` first (nx test does)`);
  redis = await connectTestRedis();
  users = new RedisUserStore(redis.client, redis.prefix);
});
afterAll(async () => {
  await redis?.cleanup();
});

async function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliRun> {
  const env: Record<string, string> = {};
  const wanted = {
    PATH: process.env['PATH'],
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    LOG_LEVEL: 'trace',
    ...options.env,
  };
  for (const [name, value] of Object.entries(wanted)) if (value !== undefined) env[name] = value;
  const run = await new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
  for (const password of PASSWORDS) {
    expect(run.stdout).not.toContain(password);
    expect(run.stderr).not.toContain(password);
  }
  return run;
}

const uniqueEmail = (name: string) => `${name}-${randomBytes(3).toString('hex')}@example.com`;
const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function addUser(email: string, password = PASSWORDS[0], roles: string[] = []) {
  const run = await runCli(['add', email, ...roles.flatMap((r) => ['--role', r])], {
    env: { USER_PASSWORD: password },
  });
  expect(run).toMatchObject({ status: 0, stderr: '' });
  return jsonLines(run.stdout)[0];
}

describe('users CLI', () => {
  it('adds a user with the password from USER_PASSWORD, stored only as an argon2id hash', async () => {
    const email = uniqueEmail('alice');
    const printed = await addUser(email);
    expect(printed).toEqual({
      id: expect.any(String),
      email,
      roles: ['user'],
      disabled: false,
      created_at: expect.any(String),
    });
    const stored = await users.findByEmail(email);
    expect(stored?.id).toBe(printed['id']);
    expect(stored?.password_hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(stored?.password_hash ?? '', PASSWORDS[0])).toBe(true);
  });

  it('reads the password from the first line of stdin when USER_PASSWORD is unset', async () => {
    const email = uniqueEmail('piped');
    const run = await runCli(['add', email], { input: `${PASSWORDS[1]}\n${PASSWORDS[2]}\n` });
    expect(run.status).toBe(0);
    const stored = await users.findByEmail(email);
    expect(await verifyPassword(stored?.password_hash ?? '', PASSWORDS[1])).toBe(true);
  });

  it('adds a user with the roles given by --role, normalizing the email', async () => {
    const email = uniqueEmail('admin');
    const printed = await addUser(email.toUpperCase(), PASSWORDS[0], ['admin', 'ops']);
    expect(printed).toMatchObject({ email, roles: ['admin', 'ops'] });
    expect((await users.findByEmail(email))?.roles).toEqual(['admin', 'ops']);
  });

  it('refuses to add a taken email with exit 1 and leaves the user as it was', async () => {
    const email = uniqueEmail('taken');
    const first = await addUser(email);
    const again = await runCli(['add', email, '--role', 'admin'], {
      env: { USER_PASSWORD: PASSWORDS[1] },
    });
    expect(again).toMatchObject({ status: 1, stdout: '' });
    expect(again.stderr).toContain(`${email} is already taken`);
    const stored = await users.findByEmail(email);
    expect(stored).toMatchObject({ id: first['id'], roles: ['user'] });
    expect(await verifyPassword(stored?.password_hash ?? '', PASSWORDS[0])).toBe(true);
  });

  it('lists every user as one JSON line, sorted by email, without the password hash', async () => {
    await addUser(uniqueEmail('zz-list'));
    await addUser(uniqueEmail('aa-list'));
    const run = await runCli(['list']);
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const listed = jsonLines(run.stdout);
    const stored = await users.list();
    expect(listed.map((u) => u['email'])).toEqual(stored.map((u) => u.email));
    expect(listed.map((u) => u['email'])).toEqual(
      [...stored.map((u) => u.email)].sort((a, b) => a.localeCompare(b)),
    );
    for (const user of listed)
      expect(Object.keys(user).sort()).toEqual(['created_at', 'disabled', 'email', 'id', 'roles']);
    expect(run.stdout).not.toContain('argon2');
  });

  describe('disable', () => {
    let subscriber: Redis;
    const published: SessionRevokedMessage[] = [];

    beforeAll(async () => {
      subscriber = redis.client.duplicate();
      await subscriber.connect();
      subscriber.on('message', (_channel: string, message: string) =>
        published.push(SessionRevokedMessageSchema.parse(JSON.parse(message))),
      );
      await subscriber.subscribe(`${redis.prefix}${SESSION_REVOKED_CHANNEL}`);
    });
    afterAll(async () => {
      await subscriber?.quit();
    });

    it('disables a user, revokes each of its live sessions and publishes each revocation', async () => {
      const email = uniqueEmail('dave');
      const userId = String((await addUser(email))['id']);
      const sessions = new RedisSessionStore(redis.client, redis.prefix);
      const session = (user_id: string) => ({
        id: randomUUID(),
        user_id,
        created_at: new Date().toISOString(),
      });
      const [live1, live2, loggedOut, someoneElses] = [
        session(userId),
        session(userId),
        session(userId),
        session(randomUUID()),
      ];
      for (const s of [live1, live2, loggedOut, someoneElses])
        await sessions.create(s, randomBytes(32).toString('hex'), 3600);
      await sessions.revoke(loggedOut.id, 'logout', '2030-01-01T00:00:00.000Z');

      const run = await runCli(['disable', email]);
      expect(run.status).toBe(0);
      expect(jsonLines(run.stdout)).toEqual([
        expect.objectContaining({ id: userId, email, disabled: true, sessions_revoked: 2 }),
      ]);
      expect((await users.findById(userId))?.disabled).toBe(true);
      for (const s of [live1, live2])
        expect(await sessions.get(s.id)).toMatchObject({
          revoked_at: expect.any(String),
          revoke_reason: 'user_disabled',
        });
      expect(await sessions.get(loggedOut.id)).toMatchObject({ revoke_reason: 'logout' });
      expect((await sessions.get(someoneElses.id))?.revoked_at).toBeUndefined();

      await waitUntil(() => published.filter((m) => m.user_id === userId).length >= 2);
      const mine = published.filter((m) => m.user_id === userId);
      expect(mine.map((m) => m.session_id).sort()).toEqual([live1.id, live2.id].sort());
      for (const m of mine)
        expect(m).toMatchObject({ type: 'session_revoked', reason: 'user_disabled' });
      // The audit lines go to stderr; stdout stays the CLI's result alone.
      expect(run.stderr).toContain('"audit":"session_revoked"');

      const listed = jsonLines((await runCli(['list'])).stdout);
      expect(listed.find((u) => u['email'] === email)).toMatchObject({ disabled: true });
    });

    it('enables a disabled user again', async () => {
      const email = uniqueEmail('erin');
      const userId = String((await addUser(email))['id']);
      expect((await runCli(['disable', email])).status).toBe(0);
      const run = await runCli(['enable', email]);
      expect(run.status).toBe(0);
      expect(jsonLines(run.stdout)).toEqual([
        expect.objectContaining({ id: userId, disabled: false }),
      ]);
      expect((await users.findById(userId))?.disabled).toBe(false);
    });

    it('fails with exit 1 for an email nobody has', async () => {
      for (const command of ['disable', 'enable']) {
        const run = await runCli([command, 'nobody@example.com']);
        expect(run).toMatchObject({ status: 1, stdout: '' });
        expect(run.stderr).toContain('no user with email nobody@example.com');
      }
    });
  });

  it('exits 2 with the usage for bad input, before touching Redis', async () => {
    const bad = [
      [],
      ['frobnicate'],
      ['add'],
      ['add', 'not-an-email'],
      ['add', 'a@b.co', '--role', 'Not A Role'],
      ['add', 'a@b.co', '--password', 'pw-in-argv'],
      ['list', 'extra'],
      ['list', '--role', 'admin'],
      ['disable'],
    ];
    const runs = await Promise.all(bad.map((args) => runCli(args)));
    for (const [i, run] of runs.entries()) {
      expect({ args: bad[i], status: run.status, stdout: run.stdout }).toEqual({
        args: bad[i],
        status: 2,
        stdout: '',
      });
      expect(run.stderr).toContain('Usage: npm run users');
    }
    expect(await users.findByEmail('a@b.co')).toBeNull();
  });

  it('prints the usage with exit 0 for --help', async () => {
    const run = await runCli(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: npm run users');
  });

  it('exits 2 without a password, refusing an empty one', async () => {
    const email = uniqueEmail('nopass');
    for (const input of ['', '\n']) {
      const run = await runCli(['add', email], { input });
      expect(run).toMatchObject({ status: 2, stdout: '' });
      expect(run.stderr).toContain('no password given');
    }
    expect(await users.findByEmail(email)).toBeNull();
  });

  it('exits 2 with a message naming REDIS_URL when it is unset', async () => {
    const email = uniqueEmail('no-redis');
    const run = await runCli(['add', email], {
      env: { REDIS_URL: undefined, USER_PASSWORD: PASSWORDS[0] },
    });
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr).toContain('REDIS_URL is required');
    expect(await users.findByEmail(email)).toBeNull();
  });

  it('exits 1 naming REDIS_URL when no Redis answers there', async () => {
    const run = await runCli(['list'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(run).toMatchObject({ status: 1, stdout: '' });
    expect(run.stderr).toContain('no Redis answered at REDIS_URL');
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
