import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  loginAs,
  metricsText,
  metricValue,
  USERS,
  startStack,
} from '../support/gateway-stack';
import {
  eventually,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';
import {
  closeAll,
  closeOf,
  connect,
  ConnectResult,
  open,
  pingPong,
  wsUrl,
} from '../support/ws-client';

/**
 * auth-service dies mid-flight: new upgrades get a fast 503 `unavailable`
 * (never a hang, never a 101, never a 1011), live sockets keep working, and
 * once auth-service is back the circuit breaker lets upgrades through again.
 */
describe('ws-gateway during an auth-service outage', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('refuses new upgrades with a quick 503, keeps live sockets, and recovers after a restart', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const url = (ticket: string) => wsUrl(gateway.url, `?ticket=${ticket}`);
    const live = await open(url(await session.ticket()), ['agent.v1']);
    // Enough failures to open the circuit breaker, so recovery goes through half-open.
    const spare: string[] = [];
    for (let i = 0; i < 8; i++) spare.push(await session.ticket());

    expect(await stack.auth.stop('SIGKILL')).toBeNull();

    const outcomes: ConnectResult[] = [];
    for (const ticket of spare) {
      const start = Date.now();
      const result = await connect(url(ticket), ['agent.v1'], { timeoutMs: 5000 });
      expect(Date.now() - start).toBeLessThan(3000);
      outcomes.push(result);
    }
    for (const result of outcomes) {
      expect(result.kind).toBe('refused');
      if (result.kind !== 'refused') continue;
      expect(result.status).toBe(503);
      expect(result.body.error).toBe('unavailable');
      expect(result.headers['retry-after']).toMatch(/^\d+$/);
    }

    // The socket opened before the outage neither closed nor stopped answering.
    expect(closeOf(live.ws)).toBeUndefined();
    await pingPong(live.ws);

    const restarted = await startService('auth-service', {
      ...stack.env,
      PORT: String(stack.auth.port),
    });
    const again = await loginAs(restarted.url, USERS[0]);
    let reopened: ConnectResult | undefined;
    await eventually(
      async () => {
        reopened = await connect(url(await again.ticket()), ['agent.v1']);
        if (reopened.kind === 'refused') expect(reopened.body.error).toBe('unavailable');
        return reopened.kind === 'open';
      },
      'upgrades to succeed once auth-service is back',
      10_000,
    );
    expect(reopened?.kind).toBe('open');
    await pingPong(live.ws);

    const metrics = await metricsText(gateway);
    expect(metricValue(metrics, 'ws_upgrades_total', { result: 'unavailable' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'ws_closes_total', { code: '1011' })).toBe(0);
    expect(gateway.child.exitCode).toBeNull();
    closeAll([live.ws, reopened?.kind === 'open' ? reopened.ws : undefined]);
  });
});
