import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  metricsText,
  metricValue,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, connect, ConnectResult, pingPong, wsUrl } from '../support/ws-client';

/**
 * A ticket is single use across every gateway replica: of any number of
 * concurrent upgrades presenting one ticket, exactly one gets a 101.
 */
describe('one ticket, many concurrent upgrades across two gateways', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateways: ServiceProcess[];

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({ stack, gateways } = await startStack(redis, {}, [{}, {}]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('opens exactly one of 40 upgrades and refuses 39 with ticket_invalid already_used', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const ticket = await session.ticket();
    const results: ConnectResult[] = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const gateway = gateways[i % 2];
        // Both carriers, so the race is not specific to one of them.
        return i % 4 < 2
          ? connect(wsUrl(gateway.url, `?ticket=${ticket}`), ['agent.v1'])
          : connect(wsUrl(gateway.url), ['agent.v1', `ticket.${ticket}`]);
      }),
    );
    const opened = results.filter((r) => r.kind === 'open');
    const refused = results.filter((r) => r.kind === 'refused');
    expect(opened).toHaveLength(1);
    expect(refused).toHaveLength(39);
    for (const r of refused) {
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: 'ticket_invalid', reason: 'already_used' });
    }
    const winner = opened[0];
    await pingPong(winner.ws);
    closeAll([winner.ws]);

    const texts = await Promise.all(gateways.map(metricsText));
    const sum = (labels: Record<string, string>) =>
      texts.reduce((n, t) => n + metricValue(t, 'ws_upgrades_total', labels), 0);
    expect(sum({ result: 'accepted' })).toBe(1);
    expect(sum({ result: 'ticket_invalid', reason: 'already_used' })).toBe(39);
    for (const gateway of gateways) expect(leakedTickets(gateway)).toEqual([]);
  });
});
