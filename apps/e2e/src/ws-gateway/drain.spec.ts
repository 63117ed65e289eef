import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AuthStack, loginAs, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closed, connect, open, wsUrl } from '../support/ws-client';

/**
 * On SIGTERM (deploy, scale-in) the gateway stops accepting upgrades, closes
 * its sockets with 1012 spread over DRAIN_SECONDS, and exits 0 in time for
 * the platform's grace period.
 */
describe('graceful drain on SIGTERM', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ DRAIN_SECONDS: '1' }]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('closes every socket with 1012, refuses upgrades while draining, and exits 0 in time', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const url = (ticket: string) => wsUrl(gateway.url, `?ticket=${ticket}`);
    const sockets = await Promise.all(
      [1, 2, 3].map(async () => (await open(url(await session.ticket()), ['agent.v1'])).ws),
    );
    const lateTicket = await session.ticket();
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      gateway.child.once('exit', (code, signal) => resolve({ code, signal })),
    );

    const start = Date.now();
    gateway.child.kill('SIGTERM');
    const closes = sockets.map((ws) => closed(ws, 5000));
    // The first close proves the drain began; the others are still spread out.
    await Promise.race(closes);
    const during = await connect(url(lateTicket), ['agent.v1']);
    expect(during.kind).not.toBe('open');
    if (during.kind === 'refused') {
      expect(during.status).toBe(503);
      expect(during.body.error).toBe('unavailable');
      expect(during.headers['retry-after']).toMatch(/^\d+$/);
    }

    for (const close of await Promise.all(closes)) expect(close.code).toBe(1012);
    const exit = await exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - start).toBeLessThan(1000 + 3000);
  });
});
