import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  loginAs,
  metricsText,
  metricValue,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  closeOf,
  connect,
  ConnectResult,
  open,
  pingPong,
  refused,
  RefusedResult,
  wsUrl,
} from '../support/ws-client';

/**
 * Issue 16 row 2: auth-service hangs (SIGSTOP: its port still accepts TCP
 * connections, nothing answers). The gateway must not wait with it:
 * EXCHANGE_TIMEOUT_MS ends each exchange, the upgrade is refused 503
 * `unavailable` with the contract's body, and after a few failures the
 * circuit breaker opens and sheds upgrades without calling auth-service.
 * Live sockets keep working. After SIGCONT, upgrades work again.
 */
const EXCHANGE_TIMEOUT_MS = 300;
const log = (service: ServiceProcess) => service.logLines().map((l) => String(l['msg'] ?? ''));
const CIRCUIT_OPEN = /circuit open/;
const CIRCUIT_CLOSED = /circuit closed/;

// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('ws-gateway while auth-service hangs (SIGSTOP)', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let paused = false;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ EXCHANGE_TIMEOUT_MS: String(EXCHANGE_TIMEOUT_MS) }]));
  });
  afterAll(async () => {
    // A stopped process would ignore SIGTERM until continued: always let it run again first.
    if (paused) stack.auth.child.kill('SIGCONT');
    await stopAllServices();
    await redis.cleanup();
  });

  it('refuses upgrades 503 unavailable by timeout, then by the open breaker, and recovers after SIGCONT', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const url = (ticket: string) => wsUrl(gateway.url, `?ticket=${ticket}`);
    const live = await open(url(await session.ticket()), ['agent.v1']);
    const spare: string[] = [];
    for (let i = 0; i < 8; i++) spare.push(await session.ticket());

    expect(stack.auth.child.kill('SIGSTOP')).toBe(true);
    paused = true;

    const refusals: RefusedResult[] = [];
    // A generous client timeout: the answer is awaited, its latency is not asserted.
    for (const ticket of spare)
      refusals.push(await refused(url(ticket), ['agent.v1'], { timeoutMs: 20_000 }));
    for (const r of refusals) {
      expect(r.status).toBe(503);
      expect(r.body.error).toBe('unavailable');
      expect(r.body.request_id).toEqual(expect.any(String));
      expect(r.headers['retry-after']).toMatch(/^\d+$/);
    }
    // The gateway gave up on the hung exchanges itself: each failed exchange was counted, and
    // some lasted past 0.25 s, i.e. they waited for EXCHANGE_TIMEOUT_MS (nothing else ends a
    // call to a stopped process) rather than failing on a refused connection.
    const metrics = await metricsText(gateway);
    const exchanges = 'ws_ticket_exchange_duration_seconds';
    const failed = metricValue(metrics, `${exchanges}_count`, { result: 'unavailable' });
    const quick = metricValue(metrics, `${exchanges}_bucket`, {
      result: 'unavailable',
      le: '0.25',
    });
    expect(failed).toBe(spare.length);
    expect(failed - quick).toBeGreaterThan(0);
    expect(metricValue(metrics, 'ws_upgrades_total', { result: 'unavailable' })).toBe(spare.length);
    // Eight failures in a row open the breaker (volume threshold 5, 50 %).
    await eventually(
      () => log(gateway).some((m) => CIRCUIT_OPEN.test(m)),
      'the gateway to log its circuit opening',
      20_000,
    );
    expect(log(gateway).some((m) => CIRCUIT_CLOSED.test(m))).toBe(false);

    // The socket opened before the hang neither closed nor stopped answering.
    expect(closeOf(live.ws)).toBeUndefined();
    await pingPong(live.ws);

    expect(stack.auth.child.kill('SIGCONT')).toBe(true);
    paused = false;

    const again = await loginAs(stack.auth.url, USERS[0]);
    let reopened: ConnectResult | undefined;
    await eventually(
      async () => {
        reopened = await connect(url(await again.ticket()), ['agent.v1'], { timeoutMs: 20_000 });
        if (reopened.kind === 'refused') expect(reopened.body.error).toBe('unavailable');
        return reopened.kind === 'open';
      },
      'upgrades to succeed once auth-service runs again',
      30_000,
    );
    expect(reopened?.kind).toBe('open');
    // The gateway's log line reaches us through a pipe, after the socket it let through.
    await eventually(
      () => log(gateway).some((m) => CIRCUIT_CLOSED.test(m)),
      'the gateway to log its circuit closing',
      20_000,
    );
    // The breaker opened during the hang and closed after it, in that order.
    const messages = log(gateway);
    const opened = messages.findIndex((m) => CIRCUIT_OPEN.test(m));
    const closedAt = messages.findIndex((m) => CIRCUIT_CLOSED.test(m));
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(closedAt).toBeGreaterThan(opened);
    await pingPong(live.ws);
    expect(gateway.child.exitCode).toBeNull();
    closeAll([live.ws, reopened?.kind === 'open' ? reopened.ws : undefined]);
  });
});
