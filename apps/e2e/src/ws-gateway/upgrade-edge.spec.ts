import { CLOSE_CODES } from '@admitone/agent-events';
import { ErrorBodySchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import fc from 'fast-check';
import {
  AuthStack,
  loginAs,
  metricsText,
  metricValue,
  startGateway,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { exchangeRaw, holdsConnection, serverClosed } from '../support/raw-socket';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  closed,
  connect,
  open,
  RawResponse,
  upgradeRequest,
  wsUrl,
} from '../support/ws-client';

/**
 * The edge of the gateway's HTTP server (issue 10, items 1, 2 and 8): a
 * refused socket is closed by the server even when the client keeps its side
 * open; what Node's parser rejects, and CONNECT, are answered with the
 * contract's JSON body; every attempt counts against the upgrade rate; the
 * per-user cap holds under a burst; upgrades in progress are bounded; and
 * the close-code label takes no client-chosen value. Raw TCP throughout
 * where an HTTP client would normalise the request.
 */
/** The contract's close codes, 1005 (a peer's close without a code) and the catch-all. */
const CLOSE_LABELS = [...Object.values(CLOSE_CODES).map((c) => String(c.code)), '1005', 'other'];

function expectContractRefusal(res: RawResponse, status: number, error: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = ErrorBodySchema.parse(JSON.parse(res.body));
  expect(body.error).toBe(error);
  expect(res.headers['x-request-id']).toBe(body.request_id);
  return body;
}

describe('the gateway edge', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let capped: ServiceProcess;
  let limited: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway, capped, limited],
    } = await startStack(redis, {}, [
      { MAX_CONNECTIONS_PER_USER: '100' },
      { MAX_CONNECTIONS_PER_USER: '2' },
      // A prefix of its own, so that its upgrade budget is not shared.
      { UPGRADE_RATE_LIMIT: '3/60s', REDIS_PREFIX: `${redis.prefix}limited:` },
    ]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('closes refused sockets whose clients keep their side open', async () => {
    const exchanges = await Promise.all(
      Array.from({ length: 20 }, () => exchangeRaw(gateway.url, upgradeRequest('/ws'))),
    );
    for (const { response } of exchanges) expectContractRefusal(response, 401, 'ticket_required');
    const clientPorts = exchanges.map(({ socket }) => socket.localPort as number);
    await Promise.all(exchanges.map(({ socket }) => serverClosed(socket)));
    // What `ss -tp` shows: the gateway process no longer owns any of them.
    const pid = gateway.child.pid as number;
    for (const port of clientPorts) expect(holdsConnection(pid, gateway.port, port)).toBe(false);
  }, 60_000);

  const bigHeader = `X-Padding: ${'a'.repeat(17 * 1024)}\r\n`;
  const upgradeHeaders =
    'Host: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
  it.each([
    ['a lowercase method', `get /ws HTTP/1.1\r\n${upgradeHeaders}\r\n`],
    ['a split method', `G ET /ws HTTP/1.1\r\n${upgradeHeaders}\r\n`],
    ['a bad HTTP version', `GET /ws HTTP/9.9\r\n${upgradeHeaders}\r\n`],
    ['a malformed HTTP version', `GET /ws HTTX/1.1\r\n${upgradeHeaders}\r\n`],
    ['a control character in a header', `GET /ws HTTP/1.1\r\n${upgradeHeaders}X-A: a\x01b\r\n\r\n`],
    ['headers over 16 KB', `GET /ws HTTP/1.1\r\n${upgradeHeaders}${bigHeader}\r\n`],
    ['CONNECT to the WebSocket path', 'CONNECT /ws HTTP/1.1\r\nHost: gateway.test\r\n\r\n'],
    ['CONNECT to a host', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
  ])(
    'answers %s with 400 invalid_request and the JSON body, then closes',
    async (_label, request) => {
      const { response, socket } = await exchangeRaw(gateway.url, request);
      expectContractRefusal(response, 400, 'invalid_request');
      await serverClosed(socket);
      expect(gateway.child.exitCode).toBeNull();
    },
  );

  it('counts ticketless refusals against the upgrade rate', async () => {
    const statuses: number[] = [];
    let last: RawResponse | undefined;
    for (let i = 0; i < 5; i++) {
      const { response, socket } = await exchangeRaw(limited.url, upgradeRequest('/ws'));
      socket.destroy();
      statuses.push(response.status);
      last = response;
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expectContractRefusal(last as RawResponse, 429, 'rate_limited');
    expect(Number(last?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('opens exactly MAX_CONNECTIONS_PER_USER (2) of 10 concurrent upgrades of one user', async () => {
    const session = await loginAs(stack.auth.url, USERS[2]);
    const tickets = await Promise.all(Array.from({ length: 10 }, () => session.ticket()));
    const results = await Promise.all(
      tickets.map((t) => connect(wsUrl(capped.url, `?ticket=${t}`), ['agent.v1'])),
    );
    const opened = results.flatMap((r) => (r.kind === 'open' ? [r.ws] : []));
    const refused = results.flatMap((r) => (r.kind === 'refused' ? [r] : []));
    expect(opened).toHaveLength(2);
    expect(refused).toHaveLength(8);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body.error).toBe('rate_limited');
    }
    // The places come back when the sockets close.
    closeAll(opened);
    await Promise.all(opened.map((ws) => closed(ws)));
    await eventually(
      async () => metricValue(await metricsText(capped), 'ws_active_connections') === 0,
      'the capped gateway to count no connection',
      10_000,
    );
    const again = await Promise.all(
      [await session.ticket(), await session.ticket()].map((t) =>
        open(wsUrl(capped.url, `?ticket=${t}`), ['agent.v1']),
      ),
    );
    closeAll(again.map((r) => r.ws));
  });

  it('labels ws_closes_total with contract close codes or other, never a peer-chosen code', async () => {
    const codes = fc.sample(fc.integer({ min: 4000, max: 4999 }), { numRuns: 20, seed: 10 });
    const session = await loginAs(stack.auth.url, USERS[3]);
    const before = metricValue(await metricsText(gateway), 'ws_closes_total');
    for (const code of codes) {
      const { ws } = await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), [
        'agent.v1',
      ]);
      ws.close(code);
      await closed(ws);
    }
    await eventually(
      async () =>
        metricValue(await metricsText(gateway), 'ws_closes_total') === before + codes.length,
      'every close to be counted',
      10_000,
    );
    const text = await metricsText(gateway);
    const labels = [...text.matchAll(/^ws_closes_total\{[^}]*code="([^"]*)"/gm)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect(CLOSE_LABELS).toContain(label);
    const outside = codes.filter((c) => !CLOSE_LABELS.includes(String(c)));
    expect(metricValue(text, 'ws_closes_total', { code: 'other' })).toBeGreaterThanOrEqual(
      outside.length,
    );
  });
});

describe('upgrades in progress are bounded per replica', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({ stack } = await startStack(redis));
    gateway = await startGateway(redis, stack, {
      MAX_PENDING_UPGRADES: '2',
      EXCHANGE_TIMEOUT_MS: '30000',
    });
  });
  afterAll(async () => {
    stack.auth.child.kill('SIGCONT');
    await stopAllServices();
    await redis.cleanup();
  });

  it('refuses an upgrade past MAX_PENDING_UPGRADES with 503 unavailable and Retry-After', async () => {
    const session = await loginAs(stack.auth.url, USERS[4]);
    const tickets = [await session.ticket(), await session.ticket()];
    // A hung auth-service keeps both exchanges pending.
    stack.auth.child.kill('SIGSTOP');
    try {
      const pending = tickets.map((t) =>
        exchangeRaw(gateway.url, upgradeRequest(`/ws?ticket=${t}`), 60_000),
      );
      await eventually(
        async () => metricValue(await metricsText(gateway), 'ws_pending_upgrades') === 2,
        'two upgrades to be pending',
        20_000,
      );
      const { response, socket } = await exchangeRaw(gateway.url, upgradeRequest('/ws'));
      expectContractRefusal(response, 503, 'unavailable');
      expect(response.headers['retry-after']).toBe('1');
      await serverClosed(socket);

      stack.auth.child.kill('SIGCONT');
      const answers = await Promise.all(pending);
      for (const { response: r, socket: s } of answers) {
        expect(r.status).toBe(101);
        s.destroy();
      }
      await eventually(
        async () => metricValue(await metricsText(gateway), 'ws_pending_upgrades') === 0,
        'no upgrade to be pending',
        20_000,
      );
    } finally {
      stack.auth.child.kill('SIGCONT');
    }
  }, 90_000);
});
