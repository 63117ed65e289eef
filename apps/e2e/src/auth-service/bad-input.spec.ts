import {
  ErrorBodySchema,
  ErrorCode,
  statusOf,
  TicketExchangeResponseSchema,
  TokenResponseSchema,
} from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import fc from 'fast-check';
import { exchangeKey, getJson, login, signingKey } from '../support/auth-client';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

/**
 * Whatever a client sends, the answer is never a 5xx and always either a
 * success that parses with the contract's schema or the contract's error
 * body with the status bound to its code.
 */
describe('bad input to the public and internal endpoints', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  const key = exchangeKey();
  const KIM = { email: 'kim@example.com', password: 'kim-password-1' };

  beforeAll(async () => {
    redis = await connectTestRedis();
    auth = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: `${KIM.email}:${KIM.password}`,
      LOGIN_RATE_LIMIT: '100000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    });
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  interface Answer {
    status: number;
    text: string;
    requestId: string | null;
  }

  async function send(path: string, body: string, contentType: string): Promise<Answer> {
    const res = await fetch(`${auth.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${key}` },
      body,
    });
    return {
      status: res.status,
      text: await res.text(),
      requestId: res.headers.get('x-request-id'),
    };
  }

  /** The answer is a contract error with one of `allowed` codes, or a valid success. */
  function checkAnswer(
    answer: Answer,
    allowed: ErrorCode[],
    success?: { status: number; parse: (body: unknown) => unknown },
  ): void {
    expect(answer.status).toBeLessThan(500);
    const body: unknown = JSON.parse(answer.text);
    if (success && answer.status === success.status) {
      success.parse(body);
      return;
    }
    const error = ErrorBodySchema.parse(body);
    expect(allowed).toContain(error.error);
    expect(answer.status).toBe(statusOf(error.error));
    expect(error.request_id).toBe(answer.requestId);
  }

  const contentTypes = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
  );

  /** JSON of any value, plain strings, and JSON text; shaped bodies are added per endpoint. */
  const anyBody = fc.oneof(
    fc.anything().map((v) => JSON.stringify(v) ?? ''),
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.json(),
  );
  const stringOrAnything = fc.oneof(fc.string(), fc.anything());

  const RUNS = 40;

  it('never answers /auth/login with a 5xx', async () => {
    const shaped = fc
      .record(
        {
          email: fc.oneof(fc.emailAddress(), stringOrAnything),
          password: stringOrAnything,
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, shaped), contentTypes, async (body, type) => {
        checkAnswer(
          await send('/auth/login', body, type),
          ['invalid_request', 'invalid_credentials'],
          { status: 200, parse: (b) => TokenResponseSchema.parse(b) },
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('never answers /auth/refresh with a 5xx', async () => {
    const shaped = fc
      .record({ refresh_token: stringOrAnything }, { requiredKeys: [] })
      .map((v) => JSON.stringify(v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, shaped), contentTypes, async (body, type) => {
        checkAnswer(await send('/auth/refresh', body, type), [
          'invalid_request',
          'invalid_refresh_token',
        ]);
      }),
      { numRuns: RUNS },
    );
  });

  it('never answers /internal/tickets/exchange with a 5xx', async () => {
    const shaped = fc
      .record(
        {
          ticket: fc.oneof(fc.base64String({ minLength: 40, maxLength: 130 }), stringOrAnything),
          origin: fc.oneof(fc.webUrl(), stringOrAnything),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v));
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, shaped), contentTypes, async (body, type) => {
        checkAnswer(
          await send('/internal/tickets/exchange', body, type),
          ['invalid_request', 'ticket_invalid'],
          { status: 200, parse: (b) => TicketExchangeResponseSchema.parse(b) },
        );
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    [
      'a body over the 32 KiB limit',
      JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(40_000) }),
    ],
    ['deeply nested arrays', '['.repeat(5000) + ']'.repeat(5000)],
    ['deeply nested objects', '{"a":'.repeat(3000) + '1' + '}'.repeat(3000)],
    ['a __proto__ key', '{"__proto__": {"email": "kim@example.com"}, "password": "p"}'],
    ['a NUL in the email', JSON.stringify({ email: 'kim@example.com\u0000', password: 'p' })],
    ['lone surrogates', '{"email": "\\ud800@example.com", "password": "\\udfff"}'],
    ['a huge number', JSON.stringify({ email: 'kim@example.com', password: 1e308 })],
    ['a UTF-8 BOM', '\ufeff' + JSON.stringify({ email: 'kim@example.com', password: 'p' })],
  ])('answers /auth/login with a 4xx contract error for %s', async (_, body) => {
    checkAnswer(await send('/auth/login', body, 'application/json'), [
      'invalid_request',
      'invalid_credentials',
    ]);
  });

  it('is still healthy and logged no unhandled error afterwards', async () => {
    expect((await getJson(`${auth.url}/health/ready`)).status).toBe(200);
    const tokens = await login(auth.url, KIM.email, KIM.password);
    expect(tokens.user.email).toBe(KIM.email);
    const unhandled = auth
      .logLines()
      .filter((l) => l['msg'] === 'unhandled error' || l['level'] === 'fatal');
    expect(unhandled).toEqual([]);
  });
});
