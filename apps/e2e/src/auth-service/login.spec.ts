import { randomUUID } from 'node:crypto';
import {
  ErrorBodySchema,
  JwksSchema,
  MeResponseSchema,
  TokenResponseSchema,
} from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  accessTokenClaims,
  accessTokenKid,
  exchangeKey,
  expectError,
  getJson,
  listenForRevocations,
  login,
  logout,
  me,
  postJson,
  requestTicket,
  RevocationListener,
  signAccessToken,
  signingKey,
  tamperSignature,
} from '../support/auth-client';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/** Contract section 2: POST /auth/login, GET /auth/me, POST /auth/logout. */
describe('login, the current user and logout', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  /** Same store, but access tokens live one second: for real expiry. */
  let shortLived: ServiceProcess;
  let revocations: RevocationListener;
  let k1: Record<string, unknown>;

  const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
  const ROOT = { email: 'root@example.com', password: 'root:pass-with-colons' };

  beforeAll(async () => {
    redis = await connectTestRedis();
    k1 = await signingKey('k1');
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([k1]),
      SEED_USERS: `${ALICE.email}:${ALICE.password},${ROOT.email}:${ROOT.password}:admin|ops`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    };
    [auth, shortLived] = await Promise.all([
      startService('auth-service', env),
      startService('auth-service', { ...env, ACCESS_TOKEN_TTL_SECONDS: '1' }),
    ]);
    revocations = await listenForRevocations(redis);
  });
  afterAll(async () => {
    await revocations?.close();
    await stopAllServices();
    await redis?.cleanup();
  });

  describe('POST /auth/login', () => {
    it('answers 200 with Bearer tokens and the user for correct credentials', async () => {
      const res = await postJson(`${auth.url}/auth/login`, ALICE);
      expect(res.status).toBe(200);
      const tokens = TokenResponseSchema.parse(res.body);
      expect(tokens.token_type).toBe('Bearer');
      expect(tokens.expires_in).toBe(15 * 60);
      expect(tokens.refresh_expires_in).toBeGreaterThan(tokens.expires_in);
      expect(tokens.user).toEqual({ id: expect.any(String), email: ALICE.email, roles: ['user'] });
      expect(tokens.refresh_token).not.toBe(tokens.access_token);

      const claims = accessTokenClaims(tokens.access_token);
      expect(claims.sub).toBe(tokens.user.id);
      expect(claims.roles).toEqual(['user']);
      expect(claims.exp - claims.iat).toBe(tokens.expires_in);
      expect(Math.abs(claims.iat - Date.now() / 1000)).toBeLessThan(10);
      expect(accessTokenKid(tokens.access_token)).toBe('k1');
    });

    it('issues an access token that verifies against the published JWKS', async () => {
      const tokens = await login(auth.url, ALICE.email, ALICE.password);
      const jwks = JwksSchema.parse((await getJson(`${auth.url}/.well-known/jwks.json`)).body);
      const { payload, protectedHeader } = await jwtVerify(
        tokens.access_token,
        createLocalJWKSet(jwks),
      );
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload.sub).toBe(tokens.user.id);
      expect(typeof payload.jti).toBe('string');
    });

    it('gives each login its own session', async () => {
      const [a, b] = await Promise.all([
        login(auth.url, ALICE.email, ALICE.password),
        login(auth.url, ALICE.email, ALICE.password),
      ]);
      expect(a.user.id).toBe(b.user.id);
      expect(accessTokenClaims(a.access_token).sid).not.toBe(accessTokenClaims(b.access_token).sid);
      expect(accessTokenClaims(a.access_token).jti).not.toBe(accessTokenClaims(b.access_token).jti);
    });

    it('accepts the email in any case and with surrounding spaces', async () => {
      const tokens = await login(auth.url, '  Alice@Example.COM ', ALICE.password);
      expect(tokens.user.email).toBe(ALICE.email);
    });

    it('carries the roles given in SEED_USERS, with a password that holds colons', async () => {
      const tokens = await login(auth.url, ROOT.email, ROOT.password);
      expect(tokens.user.roles).toEqual(['admin', 'ops']);
      expect(accessTokenClaims(tokens.access_token).roles).toEqual(['admin', 'ops']);
    });

    it.each([
      ['an empty object', {}],
      ['no password', { email: ALICE.email }],
      ['no email', { password: ALICE.password }],
      ['a numeric email', { email: 42, password: ALICE.password }],
      ['a numeric password', { email: ALICE.email, password: 42 }],
      ['an object password', { email: ALICE.email, password: { $ne: '' } }],
      ['an empty password', { email: ALICE.email, password: '' }],
      ['an email that is not one', { email: 'alice', password: ALICE.password }],
      ['a password over 1024 characters', { email: ALICE.email, password: 'x'.repeat(1025) }],
      ['an array', [ALICE]],
    ])('answers 400 invalid_request for %s', async (_, body) => {
      expectError(await postJson(`${auth.url}/auth/login`, body), 'invalid_request');
    });

    it.each([
      ['broken JSON', '{"email": "alice@example.com", "password": '],
      ['a JSON string', '"alice@example.com"'],
      ['JSON null', 'null'],
      ['an empty body', ''],
    ])('answers 400 invalid_request for %s', async (_, raw) => {
      expectError(await postJson(`${auth.url}/auth/login`, raw), 'invalid_request');
    });

    it.each([
      ['text/plain', JSON.stringify(ALICE)],
      [
        'application/x-www-form-urlencoded',
        `email=${encodeURIComponent(ALICE.email)}&password=${ALICE.password}`,
      ],
      [
        'multipart/form-data; boundary=x',
        `--x\r\nContent-Disposition: form-data; name="email"\r\n`,
      ],
    ])(
      'refuses correct credentials sent as %s with 400 invalid_request',
      async (contentType, raw) => {
        const res = await postJson(`${auth.url}/auth/login`, raw, { 'content-type': contentType });
        expectError(res, 'invalid_request');
      },
    );

    it('answers unknown user and wrong password with the same 401 invalid_credentials', async () => {
      const unknown = await postJson(`${auth.url}/auth/login`, {
        email: `nobody-${randomUUID()}@example.com`,
        password: ALICE.password,
      });
      const wrong = await postJson(`${auth.url}/auth/login`, {
        email: ALICE.email,
        password: 'not-alices-password',
      });
      const a = expectError(unknown, 'invalid_credentials');
      const b = expectError(wrong, 'invalid_credentials');
      expect({ ...a, request_id: '' }).toEqual({ ...b, request_id: '' });
      expect(a.request_id).not.toBe(b.request_id);
      expect(unknown.headers.get('retry-after')).toBeNull();
      expect(wrong.headers.get('retry-after')).toBeNull();
    });

    it('does not log in with another user’s password', async () => {
      const res = await postJson(`${auth.url}/auth/login`, {
        email: ALICE.email,
        password: ROOT.password,
      });
      expectError(res, 'invalid_credentials');
    });
  });

  describe('GET /auth/me', () => {
    it('answers 200 with the user of the token', async () => {
      const tokens = await login(auth.url, ROOT.email, ROOT.password);
      const res = await me(auth.url, tokens.access_token);
      expect(res.status).toBe(200);
      expect(MeResponseSchema.parse(res.body)).toEqual(tokens.user);
    });

    it('answers 401 invalid_token without an Authorization header', async () => {
      expectError(await getJson(`${auth.url}/auth/me`), 'invalid_token');
    });

    it.each([
      ['garbage', 'Bearer garbage'],
      ['an empty bearer', 'Bearer '],
      ['a Basic credential', `Basic ${Buffer.from('alice:pw').toString('base64')}`],
    ])('answers 401 invalid_token for %s', async (_, header) => {
      expectError(await getJson(`${auth.url}/auth/me`, { authorization: header }), 'invalid_token');
    });

    it('answers 401 invalid_token for a token whose signature was altered', async () => {
      const tokens = await login(auth.url, ALICE.email, ALICE.password);
      expectError(await me(auth.url, tamperSignature(tokens.access_token)), 'invalid_token');
      expect((await me(auth.url, tokens.access_token)).status).toBe(200);
    });

    it('answers 401 invalid_token for tokens signed with the real key but not valid', async () => {
      const tokens = await login(auth.url, ALICE.email, ALICE.password);
      const real = accessTokenClaims(tokens.access_token);
      const now = Math.floor(Date.now() / 1000);
      // Control: a token this test signs with the same key and claims is accepted.
      expect((await me(auth.url, await signAccessToken(k1, real))).status).toBe(200);
      const forged = {
        expired: { ...real, iat: now - 120, exp: now - 60 },
        'another issuer': { ...real, iss: 'someone-else' },
        'another audience': { ...real, aud: 'another-service' },
        'an unknown session': { ...real, sid: randomUUID() },
      };
      const answers: Record<string, string> = {};
      for (const [what, claims] of Object.entries(forged)) {
        const res = await me(auth.url, await signAccessToken(k1, claims));
        answers[what] = `${res.status} ${ErrorBodySchema.safeParse(res.body).data?.error}`;
      }
      const unknownKid = await me(auth.url, await signAccessToken(k1, real, 'k-unknown'));
      answers['an unknown kid'] =
        `${unknownKid.status} ${ErrorBodySchema.safeParse(unknownKid.body).data?.error}`;
      expect(answers).toEqual({
        expired: '401 invalid_token',
        'another issuer': '401 invalid_token',
        'another audience': '401 invalid_token',
        'an unknown session': '401 invalid_token',
        'an unknown kid': '401 invalid_token',
      });
    });

    it('answers 401 invalid_token for an unsigned (alg none) token', async () => {
      const tokens = await login(auth.url, ALICE.email, ALICE.password);
      const [, payload] = tokens.access_token.split('.');
      const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
      expectError(await me(auth.url, `${header}.${payload}.`), 'invalid_token');
    });

    it('answers 401 invalid_token once a real access token has expired', async () => {
      const tokens = await login(shortLived.url, ALICE.email, ALICE.password);
      expect(tokens.expires_in).toBe(1);
      const { exp } = accessTokenClaims(tokens.access_token);
      await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1100));
      expectError(await me(shortLived.url, tokens.access_token), 'invalid_token');
      expectError(await requestTicket(shortLived.url, tokens.access_token), 'invalid_token');
    });
  });

  describe('POST /auth/logout', () => {
    it('answers 204 and revokes the session: the token stops working at once', async () => {
      const tokens = await login(auth.url, ALICE.email, ALICE.password);
      const sid = accessTokenClaims(tokens.access_token).sid;
      expect((await me(auth.url, tokens.access_token)).status).toBe(200);

      const res = await fetch(`${auth.url}/auth/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');

      expectError(await me(auth.url, tokens.access_token), 'invalid_token');
      expectError(await requestTicket(auth.url, tokens.access_token), 'invalid_token');
      expectError(await logout(auth.url, tokens.access_token), 'invalid_token');

      const published = await revocations.publishedFor(sid);
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({
        type: 'session_revoked',
        session_id: sid,
        user_id: tokens.user.id,
        reason: 'logout',
      });
      expect(Math.abs(Date.parse(published[0].revoked_at) - Date.now())).toBeLessThan(10_000);
    });

    it('revokes only that session, not the user’s other sessions', async () => {
      const kept = await login(auth.url, ALICE.email, ALICE.password);
      const ended = await login(auth.url, ALICE.email, ALICE.password);
      expect((await logout(auth.url, ended.access_token)).status).toBe(204);
      expectError(await me(auth.url, ended.access_token), 'invalid_token');
      expect((await me(auth.url, kept.access_token)).status).toBe(200);
    });

    it('answers 401 invalid_token without a token or with a bad one', async () => {
      expectError(await postJson(`${auth.url}/auth/logout`, {}), 'invalid_token');
      expectError(await logout(auth.url, 'not-a-token'), 'invalid_token');
    });
  });
});
