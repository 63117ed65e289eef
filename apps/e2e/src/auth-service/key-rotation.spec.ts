import { JwksSchema, TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  accessTokenClaims,
  accessTokenKid,
  exchange,
  exchangeKey,
  expectError,
  getJson,
  issueTicket,
  login,
  me,
  parseExchange,
  refresh,
  signingKey,
} from '../support/auth-client';
import { startService, stopAllServices } from '../support/service-process';

/**
 * Contract section 2: access-token keys rotate without downtime. The JWKS
 * lists every key still valid for verification; the first key of
 * JWT_SIGNING_KEYS signs. Sessions live in Redis, so they survive restarts
 * that share REDIS_PREFIX.
 */
describe('signing key rotation across restarts', () => {
  let redis: TestRedis;
  const key = exchangeKey();
  const DAN = { email: 'dan@example.com', password: 'dan-password-1' };

  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  const start = (keys: Record<string, unknown>[]) =>
    startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify(keys),
      SEED_USERS: `${DAN.email}:${DAN.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    });

  async function jwks(url: string) {
    const res = await getJson(`${url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    return JwksSchema.parse(res.body);
  }

  it('keeps old tokens valid while their key is listed, and only then', async () => {
    const k1 = await signingKey('k1');
    const k2 = await signingKey('k2');

    // 1. Only k1.
    const first = await start([k1]);
    const old = await login(first.url, DAN.email, DAN.password);
    expect(accessTokenKid(old.access_token)).toBe('k1');
    expect((await jwks(first.url)).keys.map((k) => k.kid)).toEqual(['k1']);
    await first.stop();

    // 2. k2 is introduced and signs; k1 still verifies.
    const second = await start([k2, k1]);
    const published = await jwks(second.url);
    expect(published.keys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    for (const jwk of published.keys) {
      expect(jwk).not.toHaveProperty('d');
      expect(jwk).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig', crv: 'P-256' });
    }
    expect((await me(second.url, old.access_token)).status).toBe(200);
    const ticket = await issueTicket(second.url, old.access_token);
    expect(parseExchange(await exchange(second.url, key, ticket)).user.email).toBe(DAN.email);
    const fresh = await login(second.url, DAN.email, DAN.password);
    expect(accessTokenKid(fresh.access_token)).toBe('k2');
    // Both kinds verify against the published set, as a third party would check.
    const set = createLocalJWKSet(published);
    await expect(jwtVerify(old.access_token, set)).resolves.toBeTruthy();
    await expect(jwtVerify(fresh.access_token, set)).resolves.toBeTruthy();
    // A refresh of the k1-era session now yields a k2 token.
    const rotatedRes = await refresh(second.url, old.refresh_token);
    expect(rotatedRes.status).toBe(200);
    const rotated = TokenResponseSchema.parse(rotatedRes.body);
    expect(accessTokenKid(rotated.access_token)).toBe('k2');
    expect(accessTokenClaims(rotated.access_token).sid).toBe(
      accessTokenClaims(old.access_token).sid,
    );
    await second.stop();

    // 3. k1 retired: its tokens are refused, k2's still work.
    const third = await start([k2]);
    expect((await jwks(third.url)).keys.map((k) => k.kid)).toEqual(['k2']);
    expectError(await me(third.url, old.access_token), 'invalid_token');
    expectError(
      await getJson(`${third.url}/auth/me`, { authorization: `Bearer ${old.access_token}` }),
      'invalid_token',
    );
    expect((await me(third.url, fresh.access_token)).status).toBe(200);
    expect((await me(third.url, rotated.access_token)).status).toBe(200);
  });

  it('refuses a token signed by a key that was never configured, even with a listed kid', async () => {
    const k3 = await signingKey('k3');
    const impostor = await signingKey('k3');
    const service = await start([k3]);
    const impostorService = await start([impostor]);
    const forged = await login(impostorService.url, DAN.email, DAN.password);
    expect(accessTokenKid(forged.access_token)).toBe('k3');
    expectError(await me(service.url, forged.access_token), 'invalid_token');
    const genuine = await login(service.url, DAN.email, DAN.password);
    expect((await me(service.url, genuine.access_token)).status).toBe(200);
  });
});
