import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AuthStack, loginAs, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  open,
  parseErrorBody,
  pingPong,
  rawRequest,
  refused,
  upgradeRequest,
  wsUrl,
} from '../support/ws-client';

/**
 * Issue 16 row 10, contract section 5: WS_PATH moves the endpoint. Upgrades
 * work there; the default /ws is then an unknown path like any other, 404
 * `not_found` with the contract's body, and its ticket is not spent.
 */
const WS_PATH = '/agents/socket';

// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('a non-default WS_PATH', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ WS_PATH }]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('accepts upgrades on WS_PATH and refuses /ws with 404 not_found, keeping the ticket', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const ticket = await session.ticket();

    const atDefault = await refused(wsUrl(gateway.url, `?ticket=${ticket}`), ['agent.v1']);
    expect(atDefault.status).toBe(404);
    expect(atDefault.body.error).toBe('not_found');
    expect(atDefault.body.message).toContain(WS_PATH);
    // The same over raw TCP, without a ticket: still the body, before any ticket check.
    const raw = await rawRequest(gateway.url, upgradeRequest('/ws'));
    expect(raw.status).toBe(404);
    expect(parseErrorBody(raw.body).error).toBe('not_found');

    // The refused attempt did not spend the ticket: it opens the socket on WS_PATH.
    const live = await open(wsUrl(gateway.url, `?ticket=${ticket}`, WS_PATH), ['agent.v1']);
    expect(live.protocol).toBe('agent.v1');
    expect(live.first.type).toBe('connection_established');
    await pingPong(live.ws);
    closeAll([live.ws]);
  });
});
