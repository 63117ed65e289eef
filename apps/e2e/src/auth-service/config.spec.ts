import { connectTestRedis, createTestDatabase, TestDatabase, TestRedis } from '@admitone/testing';
import { exchangeKey, getJson, signingKey } from '../support/auth-client';
import { usersCli } from '../support/faults';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/**
 * Contract section 5: invalid configuration stops the process at start with a
 * message naming the variable; production refuses insecure defaults.
 */
describe('configuration', () => {
  let redis: TestRedis;
  let database: TestDatabase;

  beforeAll(async () => {
    [redis, database] = await Promise.all([connectTestRedis(), createTestDatabase()]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
    await database?.cleanup();
  });

  /** Starts the service, waits for it to exit on its own, and returns its code and output. */
  async function exitOf(
    env: Record<string, string | undefined>,
  ): Promise<{ code: number | null; output: string }> {
    const service: ServiceProcess = await startService('auth-service', env, { ready: false });
    const { child } = service;
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`auth-service did not exit:\n${service.output()}`)),
        20_000,
      );
      child.once('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    return { code, output: service.output() };
  }

  it('refuses production without REDIS_URL, DATABASE_URL, EXCHANGE_CLIENT_KEYS, JWT_SIGNING_KEYS and with * origins', async () => {
    const { code, output } = await exitOf({ NODE_ENV: 'production', ALLOWED_ORIGINS: '*' });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const required = [
      'ALLOWED_ORIGINS',
      'DATABASE_URL',
      'EXCHANGE_CLIENT_KEYS',
      'JWT_SIGNING_KEYS',
      'REDIS_URL',
    ];
    for (const variable of required) expect(output).toContain(variable);
    // One structured fatal line an operator's tooling can read.
    const fatal = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level?: string; problems?: { variable: string }[] })
      .find((l) => l.level === 'fatal');
    expect(fatal?.problems?.map((p) => p.variable).sort()).toEqual(required);
    expect(output).not.toMatch(/listening/);
  });

  it('refuses weak or development secrets in production without echoing them', async () => {
    const weakKey = 'short-exchange-secret';
    const seedPassword = 'seeded-password-in-prod';
    const { code, output } = await exitOf({
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      ALLOWED_ORIGINS: 'https://app.example.com',
      EXCHANGE_CLIENT_KEYS: `${exchangeKey()},${weakKey}`,
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: `admin@example.com:${seedPassword}`,
    });
    expect(code).not.toBe(0);
    expect(output).toContain('EXCHANGE_CLIENT_KEYS');
    expect(output).toContain('SEED_USERS');
    expect(output).not.toContain(weakKey);
    expect(output).not.toContain(seedPassword);
  });

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['LOGIN_RATE_LIMIT', { LOGIN_RATE_LIMIT: 'lots' }],
    ['TICKET_RATE_LIMIT', { TICKET_RATE_LIMIT: '0/60s' }],
    ['TICKET_TTL_SECONDS', { TICKET_TTL_SECONDS: 'soon' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://127.0.0.1/accounts' }],
    ['ALLOWED_ORIGINS', { ALLOWED_ORIGINS: 'not an origin' }],
    ['JWT_SIGNING_KEYS', { JWT_SIGNING_KEYS: 'not json' }],
    ['JWT_SIGNING_KEYS', { JWT_SIGNING_KEYS: '[{"kty":"EC"}]' }],
  ])('exits non-zero naming %s for %j', async (variable, bad) => {
    const { code, output } = await exitOf({
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      ...bad,
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain(variable);
    expect(output).not.toMatch(/auth-service listening/);
  });

  it('refuses to start in production on a database that lacks migrations, naming the command', async () => {
    const { code, output } = await exitOf({
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      DATABASE_URL: database.url,
      ALLOWED_ORIGINS: 'https://app.example.com',
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain('migrate');
    expect(output).not.toMatch(/auth-service listening/);
  });

  it('starts in production when every setting is present and secure, after the migrate command', async () => {
    // As a release step runs it: production, and nothing but the database.
    const migrate = await usersCli(['migrate'], {
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
    });
    expect(migrate.code).toBe(0);
    expect(JSON.parse(migrate.stdout)).toMatchObject({ applied: expect.any(Array) });
    const service = await startService('auth-service', {
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      DATABASE_URL: database.url,
      ALLOWED_ORIGINS: 'https://app.example.com',
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
    });
    const res = await getJson(`${service.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(service.output()).not.toMatch(/generated a signing key/);
    await service.stop();
  });
});
