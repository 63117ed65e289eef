import { randomUUID } from 'node:crypto';
import { SESSION_STATUS_MAX_BODY_BYTES, SESSION_STATUS_MAX_IDS } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type WebSocket from 'ws';
import {
  accessTokenClaims,
  issueTicket,
  login,
  postJson,
  signAccessToken,
  signingKey,
} from '../support/auth-client';
import {
  AuthStack,
  metricsText,
  metricValue,
  PASSWORD,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closed, closeOf, open, pingPong, wsUrl } from '../support/ws-client';

/**
 * Issue 10 item 3: the periodic session re-check on a busy replica. With
 * SESSION_STATUS_MAX_IDS live sessions on one gateway (the real maximum, the
 * point where the old 1,000-id chunk passed auth-service's 32 KiB JSON limit
 * and every call was refused), a revocation that never reached the gateway on
 * pub/sub still closes its socket with 4403. The sessions are created the way
 * auth-service stores them, with access tokens signed by the key the test
 * handed to auth-service: a thousand argon2 logins would cost minutes of CPU
 * and prove nothing more. Every ticket and upgrade still goes through the
 * real services. A re-check auth-service cannot answer is logged and counted.
 */
const SESSIONS = SESSION_STATUS_MAX_IDS;
const BATCH = 25;

describe('the session re-check on a replica with many live sessions', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sockets: { sid: string; ws: WebSocket }[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    const key = await signingKey('recheck-1');
    ({
      stack,
      gateways: [gateway],
    } = await startStack(
      redis,
      { JWT_SIGNING_KEYS: JSON.stringify([key]), TICKET_RATE_LIMIT: '100000/60s' },
      [
        {
          // Never hears a revocation: only the re-check can close its sockets.
          REDIS_PREFIX: `${redis.prefix}deaf:`,
          SESSION_RECHECK_INTERVAL_MS: '500',
          UPGRADE_RATE_LIMIT: '100000/60s',
          MAX_CONNECTIONS_PER_USER: String(SESSIONS),
          // A thousand exchanges on a busy 2-core machine: set-up, not the subject here.
          EXCHANGE_TIMEOUT_MS: '10000',
        },
      ],
    ));
    const real = accessTokenClaims((await login(stack.auth.url, USERS[0], PASSWORD)).access_token);
    const sids = Array.from({ length: SESSIONS }, () => randomUUID());
    const write = redis.client.pipeline();
    for (const sid of sids) {
      const k = `${redis.prefix}session:${sid}`;
      write.hset(k, { id: sid, user_id: real.sub, created_at: new Date().toISOString() });
      write.expire(k, 600);
    }
    await write.exec();
    for (let i = 0; i < sids.length; i += BATCH) {
      const batch = await Promise.all(
        sids.slice(i, i + BATCH).map(async (sid) => {
          const token = await signAccessToken(key, { ...real, sid, jti: randomUUID() });
          const ticket = await issueTicket(stack.auth.url, token);
          return {
            sid,
            ws: (await open(wsUrl(gateway.url, `?ticket=${ticket}`), ['agent.v1'])).ws,
          };
        }),
      );
      sockets.push(...batch);
    }
  }, 240_000);
  afterAll(async () => {
    closeAll(sockets.map((s) => s.ws));
    await stopAllServices();
    await redis.cleanup();
  });

  it(`closes with 4403 the sockets of sessions revoked without a pub/sub message, among ${SESSIONS} live sessions`, async () => {
    expect(new Set(sockets.map((s) => s.sid)).size).toBe(SESSIONS);
    // Revoked in Redis as auth-service's revoke script does, but nothing is published.
    const doomed = [sockets[0], sockets[SESSIONS / 2], sockets[SESSIONS - 1]];
    for (const { sid } of doomed)
      await redis.client.hset(`${redis.prefix}session:${sid}`, {
        revoked_at: new Date().toISOString(),
        revoke_reason: 'logout',
      });
    for (const { ws } of doomed) expect((await closed(ws, 30_000)).code).toBe(4403);

    for (const { ws } of [sockets[1], sockets[SESSIONS / 2 + 1], sockets[SESSIONS - 2]]) {
      expect(closeOf(ws)).toBeUndefined();
      await pingPong(ws);
    }
    expect(metricValue(await metricsText(gateway), 'ws_session_recheck_failures_total')).toBe(0);
  }, 90_000);

  it('accepts the documented maximum body on the status endpoint and refuses a larger one with a contract error', async () => {
    const longest = Array.from({ length: SESSION_STATUS_MAX_IDS }, () => 'x'.repeat(128));
    const body = JSON.stringify({ session_ids: longest });
    expect(Buffer.byteLength(body)).toBeGreaterThan(32 * 1024);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SESSION_STATUS_MAX_BODY_BYTES);
    const ok = await postJson(`${stack.auth.url}/internal/sessions/status`, JSON.parse(body), {
      authorization: `Bearer ${stack.key}`,
    });
    expect(ok.status).toBe(200);
    expect((ok.body as { inactive: string[] }).inactive).toHaveLength(SESSION_STATUS_MAX_IDS);

    const tooBig = await postJson(
      `${stack.auth.url}/internal/sessions/status`,
      { session_ids: ['y'.repeat(SESSION_STATUS_MAX_BODY_BYTES)] },
      { authorization: `Bearer ${stack.key}` },
    );
    expect(tooBig.status).toBeGreaterThanOrEqual(400);
    expect(tooBig.status).toBeLessThan(500);
    expect(tooBig.body).toMatchObject({ error: 'invalid_request' });
  });

  it('logs and counts a re-check that auth-service does not answer, and closes nothing', async () => {
    const live = sockets.filter((s) => !closeOf(s.ws));
    stack.auth.child.kill('SIGSTOP');
    try {
      await eventually(async () => {
        const failures = metricValue(
          await metricsText(gateway),
          'ws_session_recheck_failures_total',
        );
        return failures > 0;
      }, 'a counted re-check failure');
      await eventually(
        async () =>
          gateway
            .logLines()
            .some(
              (l) =>
                l['level'] === 'warn' && String(l['msg']).startsWith('session re-check failed'),
            ),
        'a warning about the failed re-check',
      );
    } finally {
      stack.auth.child.kill('SIGCONT');
    }
    expect(live.filter((s) => closeOf(s.ws))).toEqual([]);
  }, 60_000);
});

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
