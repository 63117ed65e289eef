import { randomBytes } from 'node:crypto';
import { TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  accessTokenClaims,
  exchangeKey,
  issueTicket,
  expectError,
  HttpResult,
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
import { PASSWORD, startStack, USERS } from '../support/gateway-stack';
import {
  eventually,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';
import { closed, closeOf, open, pingPong, wsUrl } from '../support/ws-client';

/**
 * Contract section 2, POST /auth/refresh: every refresh rotates the refresh
 * token; presenting one that was already rotated is treated as theft and
 * revokes the whole session (and tells the gateways). This block runs with
 * the reuse interval disabled (REFRESH_REUSE_INTERVAL_SECONDS=0): zero
 * tolerance. The interval itself is the next block.
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
      REFRESH_REUSE_INTERVAL_SECONDS: '0',
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

/**
 * The reuse interval (OAuth 2.0 Security BCP 4.14): a rotated token presented
 * again within REFRESH_REUSE_INTERVAL_SECONDS gets the same successor and
 * revokes nothing (two tabs, a retry after a timeout); after it, reuse is
 * theft again and the session's live sockets close with 4403.
 */
describe('refresh reuse interval', () => {
  let redis: TestRedis;
  let authUrl: string;
  let gateway: ServiceProcess;
  let revocations: RevocationListener;
  const INTERVAL_SECONDS = 2;

  beforeAll(async () => {
    redis = await connectTestRedis();
    const started = await startStack(redis, {
      REFRESH_REUSE_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
    });
    authUrl = started.stack.auth.url;
    gateway = started.gateways[0];
    revocations = await listenForRevocations(redis);
  });
  afterAll(async () => {
    await revocations?.close();
    await stopAllServices();
    await redis?.cleanup();
  });

  const openSocket = async (accessToken: string) =>
    (
      await open(wsUrl(gateway.url, `?ticket=${await issueTicket(authUrl, accessToken)}`), [
        'agent.v1',
      ])
    ).ws;

  it('answers the same token presented concurrently with one successor and revokes nothing', async () => {
    const first = await login(authUrl, USERS[0], PASSWORD);
    const sid = accessTokenClaims(first.access_token).sid;
    const socket = await openSocket(first.access_token);

    const results = await Promise.all(
      Array.from({ length: 4 }, () => refresh(authUrl, first.refresh_token)),
    );
    for (const r of results) expect(r.status).toBe(200);
    const answers = results.map((r) => TokenResponseSchema.parse(r.body));
    const successor = answers[0].refresh_token;
    expect(successor).not.toBe(first.refresh_token);
    for (const a of answers) {
      expect(a.refresh_token).toBe(successor);
      expect(accessTokenClaims(a.access_token).sid).toBe(sid);
      expect((await me(authUrl, a.access_token)).status).toBe(200);
    }
    // A retry after the fact (a response lost to a timeout) gets it too.
    const late = TokenResponseSchema.parse((await refresh(authUrl, first.refresh_token)).body);
    expect(late.refresh_token).toBe(successor);

    // The socket lives on, and the successor rotates normally.
    await pingPong(socket);
    const next = TokenResponseSchema.parse((await refresh(authUrl, successor)).body);
    expect(next.refresh_token).not.toBe(successor);

    // The first revocation ever published for this session is the logout's.
    expect((await logout(authUrl, next.access_token)).status).toBe(204);
    expect((await closed(socket)).code).toBe(4403);
    expect((await revocations.publishedFor(sid)).map((m) => m.reason)).toEqual(['logout']);
  });

  it('revokes after the interval: 401 refresh_token_reused and the sockets close with 4403', async () => {
    const first = await login(authUrl, USERS[1], PASSWORD);
    const sid = accessTokenClaims(first.access_token).sid;
    const sockets = [await openSocket(first.access_token), await openSocket(first.access_token)];
    const second = TokenResponseSchema.parse((await refresh(authUrl, first.refresh_token)).body);

    // Presenting the old token again is a harmless retry until the interval ends;
    // the first answer that is not the successor must be the reuse refusal.
    let last: HttpResult<unknown> | undefined;
    await eventually(
      async () => {
        last = await refresh(authUrl, first.refresh_token);
        if (last.status === 200)
          expect(TokenResponseSchema.parse(last.body).refresh_token).toBe(second.refresh_token);
        return last.status !== 200;
      },
      'the reuse interval to end',
      (INTERVAL_SECONDS + 10) * 1000,
    );
    expectError(last as HttpResult<unknown>, 'refresh_token_reused');

    for (const ws of sockets) expect((await closed(ws)).code).toBe(4403);
    expectError(await refresh(authUrl, second.refresh_token), 'invalid_refresh_token');
    expectError(await me(authUrl, second.access_token), 'invalid_token');
    expect((await revocations.publishedFor(sid)).map((m) => m.reason)).toEqual([
      'refresh_token_reused',
    ]);
    for (const ws of sockets) expect(closeOf(ws)?.code).toBe(4403);
  });
});

/** Contract section 2: a refresh token stops working when its lifetime ends. */
describe('refresh token expiry', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  const CAROL = { email: 'carol@example.com', password: 'carol-password-1' };

  beforeAll(async () => {
    redis = await connectTestRedis();
    auth = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: exchangeKey(),
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: `${CAROL.email}:${CAROL.password}`,
      REFRESH_TOKEN_TTL_SECONDS: '2',
    });
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  it('answers 401 invalid_refresh_token once refresh_expires_in has passed', async () => {
    const [expiring, rotated] = [
      await login(auth.url, CAROL.email, CAROL.password),
      await login(auth.url, CAROL.email, CAROL.password),
    ];
    expect(expiring.refresh_expires_in).toBe(2);
    // Used within its lifetime, a token rotates (and its successor lives 2 s more).
    const successor = TokenResponseSchema.parse(
      (await refresh(auth.url, rotated.refresh_token)).body,
    );
    // Wait past the lifetime of both (no request touches `expiring` before then).
    await new Promise((r) => setTimeout(r, (expiring.refresh_expires_in + 1) * 1000));
    expectError(await refresh(auth.url, expiring.refresh_token), 'invalid_refresh_token');
    expectError(await refresh(auth.url, successor.refresh_token), 'invalid_refresh_token');
  });
});
