import { randomUUID } from 'node:crypto';
import { TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  exchangeKey,
  expectError,
  HttpResult,
  postJson,
  requestTicket,
  signingKey,
} from '../support/auth-client';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/**
 * Contract sections 2 and 5: LOGIN_RATE_LIMIT holds per client address (every
 * attempt) and per account (failed attempts only; a successful login resets
 * it), TICKET_RATE_LIMIT per user; both answer 429 rate_limited with
 * Retry-After, and both hold across replicas sharing Redis.
 *
 * The services trust one proxy hop (TRUST_PROXY=1) so each test can speak
 * from client addresses of its own through X-Forwarded-For.
 */
describe('rate limits', () => {
  let redis: TestRedis;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const PASSWORD = 'shared-test-password';
  const users = ['erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'ken', 'leo', 'mia'].map(
    (name) => `${name}@example.com`,
  );

  beforeAll(async () => {
    redis = await connectTestRedis();
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: users.map((u) => `${u}:${PASSWORD}`).join(','),
      LOGIN_RATE_LIMIT: '3/60s',
      TICKET_RATE_LIMIT: '2/60s',
      TRUST_PROXY: '1',
    };
    [a, b] = await Promise.all([
      startService('auth-service', env),
      startService('auth-service', env),
    ]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  const attempt = (
    service: ServiceProcess,
    email: string,
    from: string,
    password = PASSWORD,
  ): Promise<HttpResult<unknown>> =>
    postJson(`${service.url}/auth/login`, { email, password }, { 'x-forwarded-for': from });

  async function signIn(service: ServiceProcess, email: string, from: string) {
    const res = await attempt(service, email, from);
    expect(res.status).toBe(200);
    return TokenResponseSchema.parse(res.body);
  }

  function expectRateLimited(res: HttpResult<unknown>, windowSeconds: number): void {
    expectError(res, 'rate_limited');
    const retryAfter = res.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
  }

  describe('LOGIN_RATE_LIMIT=3/60s', () => {
    it('locks an account after 3 failed attempts from any address, the right password included', async () => {
      const [erin, frank] = users;
      expectError(await attempt(a, erin, '10.0.1.1', 'wrong-1'), 'invalid_credentials');
      expectError(await attempt(a, erin, '10.0.1.2', 'wrong-2'), 'invalid_credentials');
      expectError(await attempt(a, erin, '10.0.1.3', 'wrong-3'), 'invalid_credentials');
      // Correct password, fresh address, another spelling of the email: still limited.
      expectRateLimited(await attempt(a, 'Erin@Example.com', '10.0.1.4'), 60);
      expectRateLimited(await attempt(a, erin, '10.0.1.5'), 60);
      // The limit is the account's, not the address's: another account there is fine.
      await signIn(a, frank, '10.0.1.4');
    });

    it("counts only failures per account: the owner's correct logins never use it up", async () => {
      const ken = users[6];
      for (let i = 1; i <= 5; i++) await signIn(a, ken, `10.0.7.${i}`);
    });

    it('lets a successful login reset the failures of its account', async () => {
      const leo = users[7];
      for (let round = 0; round < 3; round++) {
        expectError(await attempt(a, leo, `10.0.8.${round}`, 'wrong-1'), 'invalid_credentials');
        expectError(await attempt(b, leo, `10.0.9.${round}`, 'wrong-2'), 'invalid_credentials');
        await signIn(a, leo, `10.0.10.${round}`);
      }
    });

    it('never charges an account for attempts its address limit refused before the check', async () => {
      const mia = users[8];
      const attacker = '10.0.11.1';
      // The attacker spends its address's allowance on other accounts...
      for (let i = 0; i < 3; i++) {
        const stranger = `stranger-${randomUUID()}@example.com`;
        expectError(await attempt(a, stranger, attacker, 'guess'), 'invalid_credentials');
      }
      // ...so its guesses at Mia's password never reach the check, and cost her nothing.
      for (let i = 0; i < 6; i++) expectRateLimited(await attempt(a, mia, attacker, 'guess'), 60);
      await signIn(a, mia, '10.0.11.2');
    });

    it('refuses the 4th attempt from one address, whatever the accounts', async () => {
      const grace = users[2];
      const from = '10.0.2.1';
      for (let i = 0; i < 3; i++) {
        const stranger = `stranger-${randomUUID()}@example.com`;
        expectError(await attempt(a, stranger, from), 'invalid_credentials');
      }
      expectRateLimited(await attempt(a, grace, from), 60);
      // The limit is the address's: the same account from elsewhere logs in.
      await signIn(a, grace, '10.0.2.2');
    });

    it('holds across two instances sharing Redis, per account and per address', async () => {
      const heidi = users[3];
      expectError(await attempt(a, heidi, '10.0.3.1', 'wrong-1'), 'invalid_credentials');
      expectError(await attempt(b, heidi, '10.0.3.2', 'wrong-2'), 'invalid_credentials');
      expectError(await attempt(a, heidi, '10.0.3.3', 'wrong-3'), 'invalid_credentials');
      expectRateLimited(await attempt(b, heidi, '10.0.3.4'), 60);

      const from = '10.0.4.1';
      const strangers = Array.from({ length: 4 }, () => `stranger-${randomUUID()}@example.com`);
      expectError(await attempt(b, strangers[0], from), 'invalid_credentials');
      expectError(await attempt(a, strangers[1], from), 'invalid_credentials');
      expectError(await attempt(b, strangers[2], from), 'invalid_credentials');
      expectRateLimited(await attempt(a, strangers[3], from), 60);
    });

    it('refuses the excess of a concurrent burst for one account', async () => {
      const email = `burst-${randomUUID()}@example.com`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => attempt(i % 2 ? a : b, email, `10.0.6.${i + 1}`)),
      );
      expect(results.filter((r) => r.status === 401)).toHaveLength(3);
      const limited = results.filter((r) => r.status === 429);
      expect(limited).toHaveLength(5);
      for (const r of limited) expectRateLimited(r, 60);
    });
  });

  describe('TICKET_RATE_LIMIT=2/60s', () => {
    it('refuses the 3rd ticket of a user with 429 rate_limited and Retry-After, in every session', async () => {
      const ivan = users[4];
      const first = await signIn(a, ivan, '10.0.5.1');
      expect((await requestTicket(a.url, first.access_token)).status).toBe(201);
      expect((await requestTicket(a.url, first.access_token)).status).toBe(201);
      expectRateLimited(await requestTicket(a.url, first.access_token), 60);
      // Per user: a new session of the same user gets no fresh allowance.
      const second = await signIn(a, ivan, '10.0.5.2');
      expectRateLimited(await requestTicket(a.url, second.access_token), 60);
    });

    it('holds across two instances sharing Redis', async () => {
      const judy = users[5];
      const tokens = await signIn(b, judy, '10.0.5.3');
      expect((await requestTicket(a.url, tokens.access_token)).status).toBe(201);
      expect((await requestTicket(b.url, tokens.access_token)).status).toBe(201);
      expectRateLimited(await requestTicket(a.url, tokens.access_token), 60);
      expectRateLimited(await requestTicket(b.url, tokens.access_token), 60);
    });
  });
});
