import {
  ErrorBodySchema,
  HealthResponseSchema,
  JwksSchema,
  TicketResponseSchema,
} from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  exchange,
  exchangeKey,
  expectError,
  getJson,
  issueTicket,
  login,
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

/**
 * Contract section 2, the operator's side: JWKS, health, metrics, docs,
 * request ids, unknown routes and CORS (contract section 5, ALLOWED_ORIGINS).
 */
describe('operating auth-service', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  /** Pointed at a port where no Redis listens: starts, but is not ready. */
  let cutOff: ServiceProcess;
  const key = exchangeKey();
  const MIA = { email: 'mia@example.com', password: 'mia-password-1' };
  const k1Promise = signingKey('k1');
  const k0Promise = signingKey('k0');

  beforeAll(async () => {
    redis = await connectTestRedis();
    const keys = JSON.stringify([await k1Promise, await k0Promise]);
    const env = {
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: keys,
      SEED_USERS: `${MIA.email}:${MIA.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    };
    [auth, cutOff] = await Promise.all([
      startService('auth-service', { ...env, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix }),
      startService(
        'auth-service',
        { ...env, REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: redis.prefix },
        { ready: false },
      ),
    ]);
    await eventually(
      async () => {
        try {
          return (await fetch(`${cutOff.url}/health/live`)).status === 200;
        } catch {
          return false;
        }
      },
      'the cut-off instance to listen',
      20_000,
    );
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  describe('GET /.well-known/jwks.json', () => {
    it('lists the public half of every configured key, and nothing private', async () => {
      const res = await getJson(`${auth.url}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      const jwks = JwksSchema.parse(res.body);
      expect(jwks.keys.map((k) => k.kid)).toEqual(['k1', 'k0']);
      const k1 = await k1Promise;
      expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', x: k1['x'], y: k1['y'] });
      for (const jwk of jwks.keys) {
        expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      }
    });
  });

  describe('health', () => {
    it('answers /health/live 200', async () => {
      const res = await getJson(`${auth.url}/health/live`);
      expect(res.status).toBe(200);
      expect(HealthResponseSchema.parse(res.body).status).toBe('ok');
    });

    it('answers /health/ready 200 with redis up', async () => {
      const res = await getJson(`${auth.url}/health/ready`);
      expect(res.status).toBe(200);
      expect(HealthResponseSchema.parse(res.body)).toEqual({
        status: 'ok',
        checks: { redis: 'up' },
      });
    });

    it('starts without Redis, alive but answering /health/ready 503 naming redis', async () => {
      expect(cutOff.child.exitCode).toBeNull();
      const live = await getJson(`${cutOff.url}/health/live`);
      expect(live.status).toBe(200);
      const ready = await getJson(`${cutOff.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(HealthResponseSchema.parse(ready.body)).toEqual({
        status: 'unavailable',
        checks: { redis: 'down' },
      });
    });

    it('answers 503 unavailable with Retry-After, not 5xx crashes, while Redis is unreachable', async () => {
      const ticket = await issueTicket(
        auth.url,
        (await login(auth.url, MIA.email, MIA.password)).access_token,
      );
      const exchanged = await exchange(cutOff.url, key, ticket);
      expectError(exchanged, 'unavailable');
      expect(Number(exchanged.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expectError(await postJson(`${cutOff.url}/auth/login`, MIA), 'unavailable');
      // The ticket was not consumed by the failed attempt.
      expect((await exchange(auth.url, key, ticket)).status).toBe(200);
    });
  });

  describe('GET /metrics', () => {
    it('counts logins, tickets issued and exchanges by result in Prometheus text', async () => {
      const tokens = await login(auth.url, MIA.email, MIA.password);
      const ticket = await issueTicket(auth.url, tokens.access_token);
      expect((await exchange(auth.url, key, ticket)).status).toBe(200);
      expectError(await exchange(auth.url, key, ticket), 'ticket_invalid', 'already_used');

      const res = await fetch(`${auth.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
      expect(value(/^auth_tickets_issued_total(?:\{[^}]*\})? (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(
        value(/^auth_ticket_exchanges_total\{[^}]*result="ok"[^}]*\} (\d+)/m),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value(/^auth_ticket_exchanges_total\{[^}]*result="already_used"[^}]*\} (\d+)/m),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value(/^auth_logins_total\{[^}]*result="success"[^}]*\} (\d+)/m),
      ).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^# TYPE auth_logins_total counter$/m);
    });
  });

  describe('API documentation', () => {
    it('serves /docs and an OpenAPI document with every contract path', async () => {
      const page = await fetch(`${auth.url}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toMatch(/swagger/i);

      const res = await getJson(`${auth.url}/docs/openapi.json`);
      expect(res.status).toBe(200);
      const doc = res.body as { openapi?: string; paths?: Record<string, unknown> };
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths ?? {})).toEqual(
        expect.arrayContaining([
          '/auth/login',
          '/auth/refresh',
          '/auth/logout',
          '/auth/me',
          '/websocket/ticket',
          '/internal/tickets/exchange',
          '/.well-known/jwks.json',
          '/health/live',
          '/health/ready',
          '/metrics',
        ]),
      );
    });
  });

  describe('unknown routes and request ids', () => {
    it.each([
      ['GET', '/no/such/route'],
      ['POST', '/auth/nope'],
      ['GET', '/auth/login'],
      ['DELETE', '/auth/me'],
    ])('answers %s %s with 404 not_found in the contract body', async (method, path) => {
      const res = await fetch(`${auth.url}${path}`, { method });
      const body = ErrorBodySchema.parse(await res.json());
      expect(res.status).toBe(404);
      expect(body.error).toBe('not_found');
      expect(body.request_id).toBe(res.headers.get('x-request-id'));
    });

    it('echoes a client X-Request-Id on successes and in error bodies', async () => {
      const ok = await fetch(`${auth.url}/health/live`, { headers: { 'x-request-id': 'ok-1' } });
      expect(ok.headers.get('x-request-id')).toBe('ok-1');

      const tokens = await login(auth.url, MIA.email, MIA.password);
      const issued = await requestTicket(auth.url, tokens.access_token, { 'x-request-id': 'tk-2' });
      expect(issued.headers.get('x-request-id')).toBe('tk-2');
      TicketResponseSchema.parse(issued.body);

      const cases: [string, Promise<{ headers: Headers; body: unknown }>][] = [
        ['req-login', postJson(`${auth.url}/auth/login`, {}, { 'x-request-id': 'req-login' })],
        ['req.me:3', getJson(`${auth.url}/auth/me`, { 'x-request-id': 'req.me:3' })],
        ['req-404', getJson(`${auth.url}/nope`, { 'x-request-id': 'req-404' })],
        [
          'req-exchange',
          postJson(`${auth.url}/internal/tickets/exchange`, {}, { 'x-request-id': 'req-exchange' }),
        ],
        [
          'req-badjson',
          postJson(`${auth.url}/auth/login`, '{oops', { 'x-request-id': 'req-badjson' }),
        ],
      ];
      for (const [id, pending] of cases) {
        const res = await pending;
        expect(res.headers.get('x-request-id')).toBe(id);
        expect(ErrorBodySchema.parse(res.body).request_id).toBe(id);
      }
    });

    it('makes up a fresh request id when none, or an unsafe one, is sent', async () => {
      const none = await getJson(`${auth.url}/auth/me`);
      const unsafe = await getJson(`${auth.url}/auth/me`, {
        'x-request-id': 'bad id {"injected":true}',
      });
      const tooLong = await getJson(`${auth.url}/auth/me`, { 'x-request-id': 'a'.repeat(500) });
      const ids = [none, unsafe, tooLong].map((r) => ErrorBodySchema.parse(r.body).request_id);
      for (const [i, r] of [none, unsafe, tooLong].entries()) {
        expect(ids[i]).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        expect(r.headers.get('x-request-id')).toBe(ids[i]);
      }
      expect(new Set(ids).size).toBe(3);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string) =>
      fetch(`${auth.url}/auth/login`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });

    it('allows a preflight from an allowed origin (default list has http://localhost:4200)', async () => {
      const res = await preflight('http://localhost:4200');
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:4200');
      expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(
        /content-type/,
      );
    });

    it('gives a preflight from https://evil.example no access-control-allow-origin', async () => {
      const res = await preflight('https://evil.example');
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('gives an actual cross-origin request from a foreign origin no access-control-allow-origin', async () => {
      const res = await postJson(`${auth.url}/auth/login`, MIA, { origin: 'https://evil.example' });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const allowed = await postJson(`${auth.url}/auth/login`, MIA, {
        origin: 'http://localhost:4200',
      });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:4200');
      expect(allowed.headers.get('access-control-expose-headers')).toMatch(/Retry-After/i);
    });
  });
});
