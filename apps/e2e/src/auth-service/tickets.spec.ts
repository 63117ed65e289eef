import { randomBytes } from 'node:crypto';
import { TICKET_PATTERN, TicketResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  accessTokenClaims,
  exchange,
  exchangeKey,
  expectError,
  issueTicket,
  login,
  logout,
  me,
  parseExchange,
  postJson,
  requestTicket,
  signingKey,
} from '../support/auth-client';
import {
  eventually,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Contract section 2: POST /websocket/ticket and POST /internal/tickets/exchange.
 * A ticket is single use, short-lived, bound to its session and (when the
 * ticket request carried one) to its Origin.
 */
describe('WebSocket tickets and their exchange', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  /** Same store, tickets live one second. */
  let shortTickets: ServiceProcess;
  /** Same store, access tokens live a few seconds. */
  let shortAccess: ServiceProcess;
  let k1: Record<string, unknown>;
  const key = exchangeKey();
  const rotatedInKey = exchangeKey();
  const CAROL = { email: 'carol@example.com', password: 'carol-password-1' };
  /** Disabled by a test: nobody else signs in as Dan. */
  const DAN = { email: 'dan@example.com', password: 'dan-password-1' };
  const SHORT_ACCESS_SECONDS = 4;
  const APP_ORIGIN = 'http://localhost:4200';

  beforeAll(async () => {
    redis = await connectTestRedis();
    k1 = await signingKey('k1');
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: `${key}, ${rotatedInKey}`,
      JWT_SIGNING_KEYS: JSON.stringify([k1]),
      SEED_USERS: `${CAROL.email}:${CAROL.password}:user|beta,${DAN.email}:${DAN.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    };
    [auth, shortTickets, shortAccess] = await Promise.all([
      startService('auth-service', env),
      startService('auth-service', { ...env, TICKET_TTL_SECONDS: '1' }),
      startService('auth-service', {
        ...env,
        ACCESS_TOKEN_TTL_SECONDS: String(SHORT_ACCESS_SECONDS),
      }),
    ]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  const signIn = (url = auth.url, who = CAROL) => login(url, who.email, who.password);
  const randomTicket = () => randomBytes(32).toString('base64url');

  describe('POST /websocket/ticket', () => {
    it('answers 201 with a 256-bit base64url ticket that lives 30 s', async () => {
      const tokens = await signIn();
      const before = Date.now();
      const res = await requestTicket(auth.url, tokens.access_token);
      expect(res.status).toBe(201);
      const body = TicketResponseSchema.parse(res.body);
      expect(body.expires_in).toBe(30);
      expect(body.ticket).toMatch(TICKET_PATTERN);
      expect(Buffer.from(body.ticket, 'base64url').length).toBeGreaterThanOrEqual(32);
      const expiresAt = Date.parse(body.expires_at);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 29_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 31_000);
    });

    it('issues a different ticket every time', async () => {
      const tokens = await signIn();
      const tickets = await Promise.all(
        Array.from({ length: 20 }, () => issueTicket(auth.url, tokens.access_token)),
      );
      expect(new Set(tickets).size).toBe(20);
    });

    it('answers 401 invalid_token without a token, with garbage, or with a refresh token', async () => {
      const tokens = await signIn();
      expectError(await postJson(`${auth.url}/websocket/ticket`, {}), 'invalid_token');
      expectError(await requestTicket(auth.url, 'garbage'), 'invalid_token');
      expectError(await requestTicket(auth.url, tokens.refresh_token), 'invalid_token');
    });
  });

  describe('POST /internal/tickets/exchange', () => {
    it('answers 200 with the user context; auth_expires_at is the access token’s exp', async () => {
      const tokens = await signIn();
      const claims = accessTokenClaims(tokens.access_token);
      const before = Date.now();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      const res = await exchange(auth.url, key, ticket);
      expect(res.status).toBe(200);
      const context = parseExchange(res);
      expect(context.user).toEqual(tokens.user);
      expect(context.user.roles).toEqual(['user', 'beta']);
      expect(context.session_id).toBe(claims.sid);
      expect(Date.parse(context.auth_expires_at)).toBe(claims.exp * 1000);
      const issuedAt = Date.parse(context.ticket_issued_at);
      expect(issuedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(issuedAt).toBeLessThanOrEqual(Date.now());
    });

    it('answers 401 invalid_client without a credential or with a wrong one, and leaves the ticket usable', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      const url = `${auth.url}/internal/tickets/exchange`;
      expectError(await postJson(url, { ticket }), 'invalid_client');
      expectError(await exchange(auth.url, exchangeKey(), ticket), 'invalid_client');
      expectError(await exchange(auth.url, `${key}x`, ticket), 'invalid_client');
      expectError(await exchange(auth.url, `${key},${rotatedInKey}`, ticket), 'invalid_client');
      expectError(await postJson(url, { ticket }, { authorization: key }), 'invalid_client');
      expectError(
        await postJson(url, { ticket }, { authorization: `Basic ${key}` }),
        'invalid_client',
      );
      expectError(await exchange(auth.url, tokens.access_token, ticket), 'invalid_client');
      expect(parseExchange(await exchange(auth.url, key, ticket)).user.email).toBe(CAROL.email);
    });

    it('accepts every key in EXCHANGE_CLIENT_KEYS, so a key can rotate without downtime', async () => {
      const tokens = await signIn();
      for (const k of [key, rotatedInKey]) {
        const ticket = await issueTicket(auth.url, tokens.access_token);
        const res = await exchange(auth.url, k, ticket);
        expect(res.status).toBe(200);
        expect(parseExchange(res).user.id).toBe(tokens.user.id);
      }
    });

    it('answers 400 invalid_request for a body without a ticket', async () => {
      const url = `${auth.url}/internal/tickets/exchange`;
      const authz = { authorization: `Bearer ${key}` };
      expectError(await postJson(url, {}, authz), 'invalid_request');
      expectError(await postJson(url, { ticket: 42 }, authz), 'invalid_request');
      expectError(await postJson(url, { ticket: '' }, authz), 'invalid_request');
    });

    it('refuses a well-formed ticket it never issued: 403 unknown_or_expired', async () => {
      expectError(
        await exchange(auth.url, key, randomTicket()),
        'ticket_invalid',
        'unknown_or_expired',
      );
    });

    it.each([
      ['too short', 'abc'],
      ['not base64url', 'not a ticket at all, but long enough to look like one!!'],
      ['padded base64', randomBytes(32).toString('base64')],
    ])('refuses a malformed ticket (%s): 403 unknown_or_expired', async (_, ticket) => {
      expectError(await exchange(auth.url, key, ticket), 'ticket_invalid', 'unknown_or_expired');
    });

    it('refuses a ticket after its TTL: 403 unknown_or_expired', async () => {
      const tokens = await signIn(shortTickets.url);
      const res = await requestTicket(shortTickets.url, tokens.access_token);
      const { ticket, expires_in } = TicketResponseSchema.parse(res.body);
      expect(expires_in).toBe(1);
      await sleep(1500);
      expectError(
        await exchange(shortTickets.url, key, ticket),
        'ticket_invalid',
        'unknown_or_expired',
      );
    });

    it('refuses a ticket whose minting access token has expired: 403 unknown_or_expired', async () => {
      // A service whose access tokens live a few seconds; the ticket (30 s) outlives the token.
      const tokens = await signIn(shortAccess.url);
      expect(tokens.expires_in).toBe(SHORT_ACCESS_SECONDS);
      const ticket = await issueTicket(shortAccess.url, tokens.access_token);
      // Wait until the service itself holds the access token expired.
      await eventually(
        async () => (await me(shortAccess.url, tokens.access_token)).status === 401,
        'the access token to expire',
        (SHORT_ACCESS_SECONDS + 20) * 1000,
      );
      expectError(
        await exchange(shortAccess.url, key, ticket),
        'ticket_invalid',
        'unknown_or_expired',
      );
    });

    it('refuses a second exchange of one ticket: 403 already_used', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      expect((await exchange(auth.url, key, ticket)).status).toBe(200);
      expectError(await exchange(auth.url, key, ticket), 'ticket_invalid', 'already_used');
      expectError(await exchange(auth.url, rotatedInKey, ticket), 'ticket_invalid', 'already_used');
      expectError(await exchange(shortTickets.url, key, ticket), 'ticket_invalid', 'already_used');
    });

    it('binds a ticket to the Origin of its request: 403 origin_mismatch otherwise', async () => {
      const tokens = await signIn();
      const bound = () => issueTicket(auth.url, tokens.access_token, APP_ORIGIN);

      expectError(
        await exchange(auth.url, key, await bound(), 'https://evil.example'),
        'ticket_invalid',
        'origin_mismatch',
      );
      expectError(
        await exchange(auth.url, key, await bound(), 'http://localhost:4201'),
        'ticket_invalid',
        'origin_mismatch',
      );
      expectError(
        await exchange(auth.url, key, await bound()),
        'ticket_invalid',
        'origin_mismatch',
      );
      const ok = await exchange(auth.url, key, await bound(), APP_ORIGIN);
      expect(ok.status).toBe(200);
      expect(parseExchange(ok).user.email).toBe(CAROL.email);
    });

    it('does not bind a ticket requested without an Origin', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      expect((await exchange(auth.url, key, ticket, APP_ORIGIN)).status).toBe(200);
    });

    it('consumes a ticket even when the origin check refuses it (no second try)', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token, APP_ORIGIN);
      expectError(
        await exchange(auth.url, key, ticket, 'https://evil.example'),
        'ticket_invalid',
        'origin_mismatch',
      );
      expectError(
        await exchange(auth.url, key, ticket, APP_ORIGIN),
        'ticket_invalid',
        'already_used',
      );
    });

    it('refuses a ticket of a session that was logged out: 403 session_revoked', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      expect((await logout(auth.url, tokens.access_token)).status).toBe(204);
      expectError(await exchange(auth.url, key, ticket), 'ticket_invalid', 'session_revoked');
    });

    it("treats a disabled user's session as inactive even before it is revoked", async () => {
      const tokens = await signIn(auth.url, DAN);
      const sid = accessTokenClaims(tokens.access_token).sid;
      const ticket = await issueTicket(auth.url, tokens.access_token);
      // The user is disabled in the store, and no revocation followed (yet): a
      // crash between the two steps, or a revocation that failed.
      await redis.client.hset(`${redis.prefix}user:${tokens.user.id}`, 'disabled', '1');

      expectError(await requestTicket(auth.url, tokens.access_token), 'invalid_token');
      expectError(await me(auth.url, tokens.access_token), 'invalid_token');
      expectError(await exchange(auth.url, key, ticket), 'ticket_invalid', 'session_revoked');
      const status = await postJson(
        `${auth.url}/internal/sessions/status`,
        { session_ids: [sid] },
        { authorization: `Bearer ${key}` },
      );
      expect(status.status).toBe(200);
      expect(status.body).toEqual({ inactive: [sid] });
    });

    it('lets exactly one of 20 concurrent exchanges of one ticket succeed', async () => {
      const tokens = await signIn();
      const ticket = await issueTicket(auth.url, tokens.access_token);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          exchange(i % 2 ? auth.url : shortTickets.url, key, ticket),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 200)) {
        expectError(r, 'ticket_invalid', 'already_used');
      }
    });
  });
});
