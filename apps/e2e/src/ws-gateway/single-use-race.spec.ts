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
import {
  closeAll,
  connect,
  ConnectResult,
  parseErrorBody,
  pingPong,
  rawRequest,
  upgradeRequest,
  wsUrl,
} from '../support/ws-client';

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
    // Limits out of the way: the many-ticket race is about single use only. A loaded
    // machine must not turn slow exchanges into 503s (a timeout or an open breaker):
    // those would be refusals for another reason, not a proof of single use.
    const gateway = {
      UPGRADE_RATE_LIMIT: '100000/60s',
      MAX_CONNECTIONS_PER_USER: '1000',
      EXCHANGE_TIMEOUT_MS: '20000',
    };
    ({ stack, gateways } = await startStack(redis, { TICKET_RATE_LIMIT: '100000/60s' }, [
      gateway,
      gateway,
    ]));
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

  it('opens exactly one of 4 concurrent upgrades for each of 500 tickets across both gateways', async () => {
    const TICKETS = 500;
    const RACERS = 4;
    const BATCH = 25;
    const sessions = await Promise.all(USERS.map((email) => loginAs(stack.auth.url, email)));
    const metricsBefore = await Promise.all(gateways.map(metricsText));
    const opensPerTicket: number[] = [];
    const refusals: { status: number; error: string; reason?: string }[] = [];
    const echoed: string[] = [];
    for (let start = 0; start < TICKETS; start += BATCH) {
      // Issued just before their race, well inside the ticket TTL.
      const tickets = await Promise.all(
        Array.from({ length: BATCH }, (_, i) => sessions[(start + i) % sessions.length].ticket()),
      );
      await Promise.all(
        tickets.map(async (ticket) => {
          const answers = await Promise.all(
            Array.from({ length: RACERS }, (_, i) =>
              rawRequest(
                gateways[i % 2].url,
                // Both carriers on both gateways.
                i < 2
                  ? upgradeRequest(`/ws?ticket=${ticket}`)
                  : upgradeRequest('/ws', {
                      'Sec-WebSocket-Protocol': `agent.v1, ticket.${ticket}`,
                    }),
                15_000,
              ),
            ),
          );
          opensPerTicket.push(answers.filter((a) => a.status === 101).length);
          for (const a of answers) {
            if (a.raw.includes(ticket)) echoed.push(a.raw);
            if (a.status === 101) continue;
            const body = parseErrorBody(a.body);
            refusals.push({ status: a.status, error: body.error, reason: body.reason });
          }
        }),
      );
    }
    expect(opensPerTicket).toHaveLength(TICKETS);
    expect(opensPerTicket.filter((n) => n !== 1)).toEqual([]);
    expect(refusals).toHaveLength(TICKETS * (RACERS - 1));
    expect(
      refusals.filter(
        (r) => r.status !== 403 || r.error !== 'ticket_invalid' || r.reason !== 'already_used',
      ),
    ).toEqual([]);
    expect(echoed).toEqual([]);

    const metricsAfter = await Promise.all(gateways.map(metricsText));
    const delta = (labels: Record<string, string>) =>
      metricsAfter.reduce((n, t) => n + metricValue(t, 'ws_upgrades_total', labels), 0) -
      metricsBefore.reduce((n, t) => n + metricValue(t, 'ws_upgrades_total', labels), 0);
    expect(delta({ result: 'accepted' })).toBe(TICKETS);
    expect(delta({ result: 'ticket_invalid', reason: 'already_used' })).toBe(
      TICKETS * (RACERS - 1),
    );
    for (const gateway of gateways) expect(leakedTickets(gateway)).toEqual([]);
  }, 240_000);
});
