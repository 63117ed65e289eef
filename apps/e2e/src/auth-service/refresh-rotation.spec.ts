import { randomBytes } from 'node:crypto';
import { TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  accessTokenClaims,
  exchangeKey,
  expectError,
  listenForRevocations,
  login,
  logout,
  me,
  postJson,
  refresh,
  requestTicket,
  RevocationListener,
  signingKey,
} from '../support/auth-client';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/**
 * Contract section 2, POST /auth/refresh: every refresh rotates the refresh
 * token; presenting one that was already rotated is treated as theft and
 * revokes the whole session (and tells the gateways).
 */
describe('refresh token rotation', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  let revocations: RevocationListener;
  const BOB = { email: 'bob@example.com', password: 'bob-password-1' };

  beforeAll(async () => {
    redis = await connectTestRedis();
    auth = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: `${BOB.email}:${BOB.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    });
    revocations = await listenForRevocations(redis);
  });
  afterAll(async () => {
    await revocations?.close();
    await stopAllServices();
    await redis?.cleanup();
  });

  const signIn = () => login(auth.url, BOB.email, BOB.password);

  async function rotate(refreshToken: string): Promise<TokenResponse> {
    const res = await refresh(auth.url, refreshToken);
    expect(res.status).toBe(200);
    return TokenResponseSchema.parse(res.body);
  }

  it('answers 200 with new tokens of the same session and user', async () => {
    const first = await signIn();
    const second = await rotate(first.refresh_token);
    expect(second.token_type).toBe('Bearer');
    expect(second.user).toEqual(first.user);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    const before = accessTokenClaims(first.access_token);
    const after = accessTokenClaims(second.access_token);
    expect(after.sid).toBe(before.sid);
    expect(after.jti).not.toBe(before.jti);
    expect((await me(auth.url, second.access_token)).status).toBe(200);
  });

  it('keeps rotating along a chain, each new token good for exactly the next step', async () => {
    let current = await signIn();
    const sid = accessTokenClaims(current.access_token).sid;
    const seen = new Set([current.refresh_token]);
    for (let i = 0; i < 4; i++) {
      current = await rotate(current.refresh_token);
      expect(seen.has(current.refresh_token)).toBe(false);
      seen.add(current.refresh_token);
      expect(accessTokenClaims(current.access_token).sid).toBe(sid);
    }
    expect((await me(auth.url, current.access_token)).status).toBe(200);
  });

  it('answers 401 invalid_refresh_token for a token it never issued', async () => {
    expectError(
      await refresh(auth.url, randomBytes(32).toString('base64url')),
      'invalid_refresh_token',
    );
    expectError(await refresh(auth.url, 'x'), 'invalid_refresh_token');
  });

  it('answers 401 invalid_refresh_token for an access token presented as a refresh token', async () => {
    const tokens = await signIn();
    expectError(await refresh(auth.url, tokens.access_token), 'invalid_refresh_token');
    // ...and that mistake does not cost the session.
    expect((await me(auth.url, tokens.access_token)).status).toBe(200);
    await rotate(tokens.refresh_token);
  });

  it.each([
    ['no refresh_token', {}],
    ['a numeric refresh_token', { refresh_token: 12345 }],
    ['an empty refresh_token', { refresh_token: '' }],
    ['a refresh_token over 512 characters', { refresh_token: 'a'.repeat(513) }],
  ])('answers 400 invalid_request for %s', async (_, body) => {
    expectError(await postJson(`${auth.url}/auth/refresh`, body), 'invalid_request');
  });

  it('treats reuse of a rotated token as theft: 401 refresh_token_reused and the session is revoked', async () => {
    const first = await signIn();
    const sid = accessTokenClaims(first.access_token).sid;
    const second = await rotate(first.refresh_token);
    expect((await me(auth.url, second.access_token)).status).toBe(200);

    // The old refresh token is dead, and presenting it kills the session.
    expectError(await refresh(auth.url, first.refresh_token), 'refresh_token_reused');

    expectError(await me(auth.url, second.access_token), 'invalid_token');
    expectError(await me(auth.url, first.access_token), 'invalid_token');
    expectError(await requestTicket(auth.url, second.access_token), 'invalid_token');
    expectError(await refresh(auth.url, second.refresh_token), 'invalid_refresh_token');

    const published = await revocations.publishedFor(sid);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      type: 'session_revoked',
      session_id: sid,
      user_id: first.user.id,
      reason: 'refresh_token_reused',
    });
  });

  it('revokes only the session whose token was reused', async () => {
    const victim = await signIn();
    const bystander = await signIn();
    await rotate(victim.refresh_token);
    expectError(await refresh(auth.url, victim.refresh_token), 'refresh_token_reused');
    expect((await me(auth.url, bystander.access_token)).status).toBe(200);
    await rotate(bystander.refresh_token);
  });

  it('lets exactly one of ten concurrent refreshes with one token rotate it', async () => {
    const tokens = await signIn();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refresh(auth.url, tokens.refresh_token)),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    TokenResponseSchema.parse(ok[0].body);
    for (const r of results.filter((x) => x.status !== 200)) {
      expectError(r, 'refresh_token_reused');
    }
    // The nine replays revoked the session, including the winner's new tokens.
    const winner = TokenResponseSchema.parse(ok[0].body);
    expectError(await me(auth.url, winner.access_token), 'invalid_token');
  });

  it('answers 401 invalid_refresh_token after logout', async () => {
    const tokens = await signIn();
    expect((await logout(auth.url, tokens.access_token)).status).toBe(204);
    expectError(await refresh(auth.url, tokens.refresh_token), 'invalid_refresh_token');
  });
});
