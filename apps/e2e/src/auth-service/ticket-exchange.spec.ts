import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  errorBody,
  exchange,
  exchangeKey,
  issueTicket,
  login,
  parseExchange,
  signingKey,
} from '../support/auth-client';
import { ServiceProcess, startService, stopAllServices } from '../support/service-process';

describe('ticket exchange across two auth-service instances sharing Redis', () => {
  let redis: TestRedis;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const key = exchangeKey();

  beforeAll(async () => {
    redis = await connectTestRedis();
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      EXCHANGE_CLIENT_KEYS: key,
      JWT_SIGNING_KEYS: JSON.stringify([await signingKey('k1')]),
      SEED_USERS: 'alice@example.com:alice-password',
      LOGIN_RATE_LIMIT: '1000/60s',
      TICKET_RATE_LIMIT: '1000/60s',
    };
    [a, b] = await Promise.all([
      startService('auth-service', env),
      startService('auth-service', env),
    ]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('lets exactly one of 50 concurrent exchanges of one ticket succeed', async () => {
    const tokens = await login(a.url, 'alice@example.com', 'alice-password');
    const ticket = await issueTicket(a.url, tokens.access_token);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => exchange(i % 2 ? a.url : b.url, key, ticket)),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    expect(parseExchange(ok[0]).user.email).toBe('alice@example.com');
    const refused = results.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(49);
    for (const r of refused) {
      expect(r.status).toBe(403);
      expect(errorBody(r)).toMatchObject({ error: 'ticket_invalid', reason: 'already_used' });
    }
  });
});
