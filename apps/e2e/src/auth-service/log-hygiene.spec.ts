import { randomUUID } from 'node:crypto';
import { TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  exchange,
  exchangeKey,
  expectError,
  getJson,
  issueTicket,
  login,
  logout,
  me,
  postJson,
  refresh,
  signingKey,
} from '../support/auth-client';
import {
  eventually,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';

/**
 * Contract section 2: secrets (passwords, tokens, tickets) never appear in
 * logs or metrics. engineering.md: JSON logs, a request id on every line,
 * audit lines with ticket_hash and user_id. Proven on the real output of a
 * service that went through every secret-bearing path.
 */
describe('log hygiene', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  const key = exchangeKey();
  const LEO = { email: 'leo@example.com', password: `leo-pw-${randomUUID()}` };
  const WRONG_PASSWORD = `wrong-pw-${randomUUID()}`;
  const STRANGER_PASSWORD = `stranger-pw-${randomUUID()}`;
  const REQUEST_ID = `hygiene-${randomUUID()}`;
  let signing: Record<string, unknown>;

  /** Every secret the exercise below handles. */
  const secrets: Record<string, string> = {};
  let userId = '';
  const tickets: Record<'exchanged' | 'mismatched' | 'revoked', string> = {
    exchanged: '',
    mismatched: '',
    revoked: '',
  };

  beforeAll(async () => {
    redis = await connectTestRedis();
    signing = await signingKey('k1');
    auth = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify([signing]),
      SEED_USERS: `${LEO.email}:${LEO.password}`,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
      LOG_LEVEL: 'debug',
      // Zero tolerance, so presenting the rotated token again is reuse at once.
      REFRESH_REUSE_INTERVAL_SECONDS: '0',
    });

    // Exercise every path that handles a secret, successful or not.
    const first = await login(auth.url, LEO.email, LEO.password);
    userId = first.user.id;
    expectError(
      await postJson(`${auth.url}/auth/login`, { email: LEO.email, password: WRONG_PASSWORD }),
      'invalid_credentials',
    );
    expectError(
      await postJson(`${auth.url}/auth/login`, {
        email: `nobody-${randomUUID()}@example.com`,
        password: STRANGER_PASSWORD,
      }),
      'invalid_credentials',
    );
    const rotatedRes = await refresh(auth.url, first.refresh_token);
    const rotated = TokenResponseSchema.parse(rotatedRes.body);
    expect((await me(auth.url, rotated.access_token)).status).toBe(200);

    tickets.exchanged = await issueTicket(auth.url, rotated.access_token);
    expect((await exchange(auth.url, key, tickets.exchanged)).status).toBe(200);
    expectError(await exchange(auth.url, key, tickets.exchanged), 'ticket_invalid', 'already_used');

    tickets.mismatched = await issueTicket(auth.url, rotated.access_token, 'http://localhost:4200');
    expectError(
      await exchange(auth.url, key, tickets.mismatched, 'https://evil.example'),
      'ticket_invalid',
      'origin_mismatch',
    );
    expectError(await exchange(auth.url, `${key}-wrong`, tickets.mismatched), 'invalid_client');

    // A request with a chosen id, failing, so its line can be found.
    expectError(
      await postJson(
        `${auth.url}/auth/refresh`,
        { refresh_token: first.refresh_token },
        {
          'x-request-id': REQUEST_ID,
        },
      ),
      'refresh_token_reused',
    );

    const other = await login(auth.url, LEO.email, LEO.password);
    tickets.revoked = await issueTicket(auth.url, other.access_token);
    expect((await logout(auth.url, other.access_token)).status).toBe(204);
    expectError(
      await exchange(auth.url, key, tickets.revoked),
      'ticket_invalid',
      'session_revoked',
    );
    expectError(await me(auth.url, other.access_token), 'invalid_token');

    Object.assign(secrets, {
      password: LEO.password,
      'wrong password': WRONG_PASSWORD,
      'unknown user password': STRANGER_PASSWORD,
      'exchange key': key,
      'signing key d': String(signing['d']),
      'first access token': first.access_token,
      'first access token signature': first.access_token.split('.')[2],
      'first refresh token': first.refresh_token,
      'rotated access token': rotated.access_token,
      'rotated refresh token': rotated.refresh_token,
      'other access token': other.access_token,
      'other refresh token': other.refresh_token,
      'exchanged ticket': tickets.exchanged,
      'mismatched ticket': tickets.mismatched,
      'revoked ticket': tickets.revoked,
    });

    // Lines are written as responses finish: wait for the last request's line.
    await eventually(
      () =>
        auth.logLines().some((l) => {
          const req = l['req'] as { path?: string } | undefined;
          const res = l['res'] as { status_code?: number } | undefined;
          return req?.path === '/auth/me' && res?.status_code === 401;
        }),
      'the log line of the last request',
    );
  });
  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  it('writes no password, token, ticket, exchange key or private key to its output', () => {
    const output = auth.output();
    expect(output.length).toBeGreaterThan(1000);
    const leaked = Object.entries(secrets)
      .filter(([, secret]) => secret.length >= 8 && output.includes(secret))
      .map(([what]) => what);
    expect(leaked).toEqual([]);
  });

  it('puts no secret in metrics', async () => {
    const res = await getJson(`${auth.url}/metrics`);
    expect(res.status).toBe(200);
    const text = String(res.body);
    expect(text).toContain('auth_ticket_exchanges_total');
    const leaked = Object.entries(secrets)
      .filter(([, secret]) => text.includes(secret))
      .map(([what]) => what);
    expect(leaked).toEqual([]);
    expect(text).not.toContain(LEO.email);
  });

  it('logs JSON lines only', () => {
    const lines = auth
      .output()
      .split('\n')
      .filter((l) => l.trim());
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  });

  it('writes audit lines for issue, exchange and replay with ticket_hash and user_id', () => {
    const audit = (kind: string) => auth.logLines().filter((l) => l['audit'] === kind);
    const issued = audit('ticket_issued');
    const exchanged = audit('ticket_exchanged');
    const replayed = audit('ticket_replayed');
    expect(issued).toHaveLength(3);
    expect(exchanged).toHaveLength(1);
    expect(replayed).toHaveLength(1);
    for (const line of [...issued, ...exchanged, ...replayed]) {
      expect(line['ticket_hash']).toMatch(/^[0-9a-f]{12}$/);
      expect(line['user_id']).toBe(userId);
    }
    // One ticket, one hash through its life; different tickets, different hashes.
    const hash = exchanged[0]['ticket_hash'];
    expect(replayed[0]['ticket_hash']).toBe(hash);
    expect(issued.filter((l) => l['ticket_hash'] === hash)).toHaveLength(1);
    expect(new Set(issued.map((l) => l['ticket_hash'])).size).toBe(3);
    expect(replayed[0]['level']).toBe('warn');

    const refused = auth.logLines().filter((l) => l['audit'] === 'ticket_refused');
    expect(refused.map((l) => l['reason']).sort()).toEqual(['origin_mismatch', 'session_revoked']);
  });

  it('puts a request_id on every request log line', () => {
    const requestLines = auth.logLines().filter((l) => 'req' in l || 'res' in l);
    expect(requestLines.length).toBeGreaterThanOrEqual(15);
    const withoutId = requestLines.filter(
      (l) => typeof l['request_id'] !== 'string' || !l['request_id'],
    );
    expect(withoutId).toEqual([]);
    const chosen = requestLines.filter((l) => l['request_id'] === REQUEST_ID);
    expect(chosen.length).toBeGreaterThanOrEqual(1);
  });

  it('puts the request_id on the audit lines written while serving a request', () => {
    const auditLines = auth.logLines().filter((l) => typeof l['audit'] === 'string');
    expect(auditLines.length).toBeGreaterThanOrEqual(10);
    expect(auditLines.filter((l) => typeof l['request_id'] !== 'string')).toEqual([]);
    const reused = auditLines.find((l) => l['audit'] === 'refresh_token_reused');
    expect(reused?.['request_id']).toBe(REQUEST_ID);
  });
});
