import { createHmac, createPrivateKey, createPublicKey } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { SignJWT } from 'jose';
import {
  accessTokenClaims,
  exchangeKey,
  expectError,
  login,
  me,
  signingKey,
} from '../support/auth-client';
import { startService, stopAllServices } from '../support/service-process';

/**
 * Bearer checks hand the verifier the ring's public KeyObject (issue 11: no
 * PEM export and re-parse per request). These tokens, made with the service's
 * own signing key or its public part, pin down that the check is as strict as
 * before: ES256 only (no `none`, no HS256 keyed with the public key), and
 * issuer, audience and expiry all enforced.
 */
describe('bearer token verification', () => {
  let redis: TestRedis;
  const DAN = { email: 'dan@example.com', password: 'dan-password-1' };

  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('accepts a genuine ES256 token and refuses alg none, HS256 confusion, and wrong iss, aud or exp', async () => {
    const jwk = await signingKey('k1');
    const service = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([jwk]),
      SEED_USERS: `${DAN.email}:${DAN.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
    });
    const genuine = await login(service.url, DAN.email, DAN.password);
    const claims = accessTokenClaims(genuine.access_token);
    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    const now = Math.floor(Date.now() / 1000);
    const es256 = (overrides: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...overrides })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
        .sign(privateKey);

    // The control: a token made here the way the service makes one is accepted,
    // so each refusal below is down to the one thing that differs.
    expect((await me(service.url, genuine.access_token)).status).toBe(200);
    expect((await me(service.url, await es256({}))).status).toBe(200);

    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' });
    const hsInput = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(claims)}`;
    const hs256 = `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`;
    const none = `${b64({ alg: 'none', kid: 'k1', typ: 'JWT' })}.${b64(claims)}.`;
    const refused = {
      hs256,
      none,
      issuer: await es256({ iss: 'someone-else' }),
      audience: await es256({ aud: 'another-audience' }),
      expired: await es256({ iat: now - 120, exp: now - 60 }),
    };
    for (const [what, token] of Object.entries(refused)) {
      const result = await me(service.url, token);
      expect({ what, status: result.status }).toEqual({ what, status: 401 });
      expectError(result, 'invalid_token');
    }
  }, 60_000);
});
