import Redis from 'ioredis';
import { PrivateRedis } from '../support/agent-client';
import {
  errorBody,
  exchange,
  exchangeKey,
  issueTicket,
  login,
  parseExchange,
  postJson,
  signingKey,
} from '../support/auth-client';
import {
  eventually,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';

/**
 * The ticket exchange and issuance do only the work they need (issue 11):
 * the user is read without the password hash, the internal API carries no
 * ETag, CORS, HTTP metrics or "request completed" line for a success, and
 * issuance still refuses over the limit with Retry-After, leaving no ticket.
 * A Redis of the test's own, so that MONITOR sees this service only.
 */
describe('auth-service hot paths', () => {
  const ORIGIN = 'http://app.example';
  const PREFIX = 'hot:';
  const key = exchangeKey();
  let redis: PrivateRedis;
  let client: Redis;
  let auth: ServiceProcess;
  let accessToken: string;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    auth = await startService('auth-service', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: PREFIX,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: 'alice@example.com:alice-password',
      ALLOWED_ORIGINS: ORIGIN,
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '4/60s',
    });
    accessToken = (await login(auth.url, 'alice@example.com', 'alice-password')).access_token;
  }, 60_000);
  afterAll(async () => {
    await stopAllServices();
    client.disconnect();
    await redis.kill();
  });

  it('exchanges a ticket without reading the password hash', async () => {
    const ticket = await issueTicket(auth.url, accessToken, ORIGIN);
    const monitor = await client.monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
    try {
      const result = await exchange(auth.url, key, ticket, ORIGIN);
      expect(result.status).toBe(200);
      expect(parseExchange(result).user.email).toBe('alice@example.com');
      await eventually(
        () => commands.some((c) => c.some((a) => a.startsWith(`${PREFIX}user:`))),
        'the user read',
        10_000,
      );
    } finally {
      monitor.disconnect();
    }
    const userReads = commands.filter((c) => c.some((a) => a.startsWith(`${PREFIX}user:`)));
    expect(userReads.length).toBeGreaterThan(0);
    for (const read of userReads) {
      expect(read[0].toLowerCase()).toBe('hmget');
      expect(read).not.toContain('password_hash');
    }
  }, 30_000);

  it('answers the internal API without an ETag or CORS headers, and the public API without an ETag', async () => {
    const ticket = await issueTicket(auth.url, accessToken, ORIGIN);
    const internal = await postJson(
      `${auth.url}/internal/tickets/exchange`,
      { ticket, origin: ORIGIN },
      { authorization: `Bearer ${key}`, origin: ORIGIN },
    );
    expect(internal.status).toBe(200);
    expect(internal.headers.get('etag')).toBeNull();
    expect(internal.headers.get('access-control-allow-origin')).toBeNull();
    expect(internal.headers.get('x-request-id')).toEqual(expect.any(String));

    const me = await fetch(`${auth.url}/auth/me`, {
      headers: { authorization: `Bearer ${accessToken}`, origin: ORIGIN },
    });
    expect(me.status).toBe(200);
    expect(me.headers.get('etag')).toBeNull();
    expect(me.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  }, 30_000);

  it('logs a successful exchange by its audit line only, and a refused one with its request line too, each with the request_id', async () => {
    const ticket = await issueTicket(auth.url, accessToken, ORIGIN);
    const ok = await postJson(
      `${auth.url}/internal/tickets/exchange`,
      { ticket, origin: ORIGIN },
      { authorization: `Bearer ${key}`, 'x-request-id': 'hot-ok-1' },
    );
    expect(ok.status).toBe(200);
    const replay = await postJson(
      `${auth.url}/internal/tickets/exchange`,
      { ticket, origin: ORIGIN },
      { authorization: `Bearer ${key}`, 'x-request-id': 'hot-replay-1' },
    );
    expect(replay.status).toBe(403);
    expect(errorBody(replay)).toMatchObject({ reason: 'already_used', request_id: 'hot-replay-1' });
    const linesOf = (id: string) => auth.logLines().filter((l) => l['request_id'] === id);
    await eventually(
      () => linesOf('hot-replay-1').some((l) => l['msg'] === 'request completed'),
      'the refused request line',
      10_000,
    );
    expect(linesOf('hot-ok-1').map((l) => l['msg'])).toEqual(['ticket exchanged']);
    expect(linesOf('hot-ok-1')[0]).toMatchObject({ level: 'info', audit: 'ticket_exchanged' });
    expect(linesOf('hot-replay-1').map((l) => l['msg'])).toEqual([
      'ticket replayed',
      'request completed',
    ]);
    expect(linesOf('hot-replay-1')[1]).toMatchObject({ res: { status_code: 403 } });
  }, 30_000);

  it('keeps the internal API out of the HTTP metrics, which still count public requests', async () => {
    const ticket = await issueTicket(auth.url, accessToken, ORIGIN);
    expect((await exchange(auth.url, key, ticket, ORIGIN)).status).toBe(200);
    const metrics = await (await fetch(`${auth.url}/metrics`)).text();
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/websocket\/ticket"/,
    );
    expect(metrics).not.toMatch(/http_request_duration_seconds_count\{[^}]*route="\/internal/);
    expect(metrics).toMatch(/auth_ticket_exchanges_total\{[^}]*result="ok"[^}]*\} [1-9]/);
  }, 30_000);

  it('refuses issuance over the limit with Retry-After and leaves no ticket behind for it', async () => {
    // Four tickets were issued above, the limit is 4 per 60 s.
    const before = await client.keys(`${PREFIX}ticket:*`);
    const refused = await postJson(
      `${auth.url}/websocket/ticket`,
      {},
      { authorization: `Bearer ${accessToken}`, origin: ORIGIN },
    );
    expect(refused.status).toBe(429);
    expect(errorBody(refused).error).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await client.keys(`${PREFIX}ticket:*`)).toEqual(before);
  }, 30_000);
});
