import { ConnectionEstablishedSchema } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  metricsText,
  metricValue,
  Session,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closed, open, pingPong, refused, wsUrl } from '../support/ws-client';

/**
 * Contract section 3 (both carriers, RFC 6455 negotiation) and 4.1
 * (`connection_established`), plus what operators see of an upgrade: the
 * request id on the 101 and on every upgrade log line, the upgrade and
 * connection metrics, and no ticket anywhere in the logs.
 */
describe('ws-gateway accepts a ticket in either carrier', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let alice: Session;
  let url: string;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ HEARTBEAT_INTERVAL_MS: '20000' }]));
    alice = await loginAs(stack.auth.url, USERS[0]);
    url = wsUrl(gateway.url);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('opens with the ticket in the query, agent.v1 selected and connection_established first', async () => {
    const before = Date.now();
    const { ws, protocol, first } = await open(`${url}?ticket=${await alice.ticket()}`, [
      'agent.v1',
    ]);
    expect(protocol).toBe('agent.v1');
    expect(ws.protocol).toBe('agent.v1');
    expect(ConnectionEstablishedSchema.parse(first)).toEqual(first);
    expect(first).toMatchObject({
      type: 'connection_established',
      protocol: 'agent.v1',
      connection_ready: true,
      heartbeat_interval_ms: 20000,
    });
    expect(first.connection_id).toMatch(/\S/);
    expect(first.user_id).toMatch(/\S/);
    expect(Date.parse(first.auth_expires_at)).toBeGreaterThan(Date.now());
    expect(Math.abs(Date.parse(first.server_time) - before)).toBeLessThan(10_000);
    await pingPong(ws);
    closeAll([ws]);
  });

  it('opens with the ticket in the subprotocol and never echoes the ticket', async () => {
    const ticket = await alice.ticket();
    const { ws, protocol, headers, first } = await open(url, ['agent.v1', `ticket.${ticket}`]);
    expect(protocol).toBe('agent.v1');
    expect(headers['sec-websocket-protocol']).toBe('agent.v1');
    expect(first.protocol).toBe('agent.v1');
    expect(JSON.stringify(headers)).not.toContain(ticket);
    closeAll([ws]);
  });

  it('gives two connections of one user distinct connection ids and the same user id', async () => {
    const a = await open(`${url}?ticket=${await alice.ticket()}`, ['agent.v1']);
    const b = await open(url, ['agent.v1', `ticket.${await alice.ticket()}`]);
    expect(a.first.connection_id).not.toBe(b.first.connection_id);
    expect(a.first.user_id).toBe(b.first.user_id);
    closeAll([a.ws, b.ws]);
  });

  it('accepts a client that offers no subprotocol, without one', async () => {
    const { ws, protocol, headers, first } = await open(`${url}?ticket=${await alice.ticket()}`);
    expect(protocol).toBe('');
    expect(ws.protocol).toBe('');
    expect(headers['sec-websocket-protocol']).toBeUndefined();
    expect(first.type).toBe('connection_established');
    await pingPong(ws);
    closeAll([ws]);
  });

  it.each([
    [['agent.v1', 'TICKET', 'other']],
    [['other', 'TICKET', 'agent.v1']],
    [['TICKET', 'agent.v1']],
  ])('selects agent.v1 from the offer %j, never the ticket or another value', async (offer) => {
    const ticket = await alice.ticket();
    const { ws, headers } = await open(
      url,
      offer.map((p) => (p === 'TICKET' ? `ticket.${ticket}` : p)),
    );
    expect(headers['sec-websocket-protocol']).toBe('agent.v1');
    expect(ws.protocol).toBe('agent.v1');
    closeAll([ws]);
  });

  it('echoes X-Request-Id on the 101 and logs the upgrade under it', async () => {
    const { ws, headers, first } = await open(
      `${url}?ticket=${await alice.ticket()}`,
      ['agent.v1'],
      {
        headers: { 'X-Request-Id': 'e2e-upgrade-42' },
      },
    );
    expect(headers['x-request-id']).toBe('e2e-upgrade-42');
    await eventually(
      () =>
        gateway
          .logLines()
          .some(
            (l) =>
              l['request_id'] === 'e2e-upgrade-42' &&
              l['msg'] === 'upgrade accepted' &&
              l['connection_id'] === first.connection_id,
          ),
      'the accepted upgrade to be logged with its request id',
    );
    closeAll([ws]);
  });

  it('counts upgrades by result and live connections in /metrics', async () => {
    const a = await open(`${url}?ticket=${await alice.ticket()}`, ['agent.v1']);
    const b = await open(`${url}?ticket=${await alice.ticket()}`, ['agent.v1']);
    const r = await refused(url, ['agent.v1']);
    expect(r.body.error).toBe('ticket_required');
    const during = await metricsText(gateway);
    expect(metricValue(during, 'ws_upgrades_total', { result: 'accepted' })).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      metricValue(during, 'ws_upgrades_total', { result: 'ticket_required' }),
    ).toBeGreaterThanOrEqual(1);
    expect(during).toMatch(/^ws_active_connections(\{[^}]*\})? \d+$/m);
    expect(
      metricValue(during, 'ws_ticket_exchange_duration_seconds_count', { result: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    expect(metricValue(during, 'ws_active_connections')).toBeGreaterThanOrEqual(2);
    a.ws.close(1000);
    b.ws.close(1000);
    await Promise.all([closed(a.ws), closed(b.ws)]);
    await eventually(
      async () => metricValue(await metricsText(gateway), 'ws_active_connections') === 0,
      'ws_active_connections to fall back to 0',
    );
  });

  it('carries a request_id on every upgrade log line and never logs a ticket', () => {
    const upgradeLines = gateway
      .logLines()
      .filter((l) => typeof l['msg'] === 'string' && String(l['msg']).startsWith('upgrade'));
    expect(upgradeLines.length).toBeGreaterThan(5);
    for (const line of upgradeLines) expect(line['request_id']).toEqual(expect.any(String));
    expect(leakedTickets(gateway)).toEqual([]);
    expect(leakedTickets(stack.auth)).toEqual([]);
  });
});
