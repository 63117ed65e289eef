import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AuthStack, loginAs, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { waitForReadiness } from '../support/faults';
import { closed, closeOf, open, refused, wsUrl } from '../support/ws-client';

/**
 * On SIGTERM (deploy, scale-in) the gateway stops accepting upgrades, closes
 * its sockets with 1012 spread over DRAIN_SECONDS, and exits 0 in time for
 * the platform's grace period.
 */
const DRAIN_SECONDS = 3;

describe('graceful drain on SIGTERM', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ DRAIN_SECONDS: String(DRAIN_SECONDS) }]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('closes every socket with 1012, refuses upgrades while draining, and exits 0 once drained', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const url = (ticket: string) => wsUrl(gateway.url, `?ticket=${ticket}`);
    const sockets = await Promise.all(
      [1, 2, 3].map(async () => (await open(url(await session.ticket()), ['agent.v1'])).ws),
    );
    const lateTicket = await session.ticket();
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      gateway.child.once('exit', (code, signal) => resolve({ code, signal })),
    );

    gateway.child.kill('SIGTERM');
    const closes = sockets.map((ws) => closed(ws, 20_000));
    // Draining has begun once readiness says so.
    const ready = await waitForReadiness(gateway, { down: 'draining' });
    expect(ready.body.status).toBe('unavailable');
    // The last socket closes DRAIN_SECONDS * 2/3 after the first. While the client has not seen
    // its close, the gateway still counts it, so it has not yet closed its listener.
    expect(closeOf(sockets[2])).toBeUndefined();
    const during = await refused(url(lateTicket), ['agent.v1'], { timeoutMs: 20_000 });
    expect(during.status).toBe(503);
    expect(during.body.error).toBe('unavailable');
    expect(during.body.request_id).toEqual(expect.any(String));
    expect(during.headers['retry-after']).toMatch(/^\d+$/);

    for (const close of await Promise.all(closes)) expect(close.code).toBe(1012);
    const exit = await exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // It drained every socket itself (none left for the shutdown deadline), then exited.
    const lines = gateway.logLines();
    const draining = lines.findIndex((l) => l['msg'] === 'draining');
    const drained = lines.findIndex((l) => l['msg'] === 'drained');
    expect(lines[draining]).toMatchObject({ signal: 'SIGTERM', connections: 3 });
    expect(drained).toBeGreaterThan(draining);
    expect(lines[drained]).toMatchObject({ remaining: 0 });
  });
});
