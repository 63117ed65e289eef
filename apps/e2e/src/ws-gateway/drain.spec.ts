import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AuthStack, loginAs, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { openSilentPeer, waitForReadiness } from '../support/faults';
import { closed, open, refused, wsUrl } from '../support/ws-client';

/**
 * On SIGTERM (deploy, scale-in) the gateway stops accepting upgrades, closes
 * its sockets with 1012 spread over DRAIN_SECONDS, and exits 0 in time for
 * the platform's grace period.
 */
const DRAIN_SECONDS = 3;

// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

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
    // A peer that never answers its close frame holds the drain (and the listener) open until
    // released or until the drain's deadline (DRAIN_SECONDS + 2 s), so the late upgrade below
    // meets a gateway that is draining and still listening.
    const holder = await openSilentPeer(gateway.url, await session.ticket());
    const lateTicket = await session.ticket();
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      gateway.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const logged = (msg: string) => gateway.logLines().findIndex((l) => l['msg'] === msg);

    gateway.child.kill('SIGTERM');
    const closes = sockets.map((ws) => closed(ws, 20_000));
    // Draining has begun once readiness says so, and has not ended (the holder is still counted).
    const ready = await waitForReadiness(gateway, { down: 'draining' });
    expect(ready.body.status).toBe('unavailable');
    expect(logged('drained')).toBe(-1);
    const during = await refused(url(lateTicket), ['agent.v1'], { timeoutMs: 20_000 });
    expect(during.status).toBe(503);
    expect(during.body.error).toBe('unavailable');
    expect(during.body.request_id).toEqual(expect.any(String));
    expect(during.headers['retry-after']).toMatch(/^\d+$/);
    holder.release();

    for (const close of await Promise.all(closes)) expect(close.code).toBe(1012);
    const exit = await exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // It drained every socket (none left for the shutdown deadline), then exited.
    const lines = gateway.logLines();
    expect(lines[logged('draining')]).toMatchObject({ signal: 'SIGTERM', connections: 4 });
    expect(logged('drained')).toBeGreaterThan(logged('draining'));
    expect(lines[logged('drained')]).toMatchObject({ remaining: 0 });
  });
});
