import { ErrorBodySchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { exchange, getJson, login, postJson } from '../support/auth-client';
import {
  AuthStack,
  gatewayEnv,
  loginAs,
  metricValue,
  PASSWORD,
  startAuth,
  USERS,
} from '../support/gateway-stack';
import {
  freePort,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';
import { closeAll, open, rawRequest, wsUrl } from '../support/ws-client';

/**
 * Contract section 5, INTERNAL_PORT and METRICS_PORT (issue 10 item 7): with
 * them set, /internal/*, /metrics and /docs answer only on their own port and
 * are an unknown route (404 with the contract's body) on PORT, the port the
 * public Ingress or Cloud Run's front end reaches. /health/* answers on every
 * port. The gateway exchanges tickets through auth's internal port.
 */
describe('internal and metrics ports', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let internalUrl: string;
  let authMetricsUrl: string;
  let gatewayMetricsUrl: string;

  beforeAll(async () => {
    redis = await connectTestRedis();
    const [internalPort, authMetricsPort, gatewayMetricsPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    internalUrl = `http://127.0.0.1:${internalPort}`;
    authMetricsUrl = `http://127.0.0.1:${authMetricsPort}`;
    gatewayMetricsUrl = `http://127.0.0.1:${gatewayMetricsPort}`;
    stack = await startAuth(redis, {
      INTERNAL_PORT: String(internalPort),
      METRICS_PORT: String(authMetricsPort),
    });
    gateway = await startService(
      'ws-gateway',
      gatewayEnv(
        redis,
        { authUrl: internalUrl, key: stack.key },
        { METRICS_PORT: String(gatewayMetricsPort) },
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await stopAllServices();
    await redis?.cleanup();
  });

  const expectNotFound = (res: { status: number; body: unknown }) => {
    expect(res.status).toBe(404);
    expect(ErrorBodySchema.parse(res.body).error).toBe('not_found');
  };

  it('refuses the ticket exchange on PORT, in every spelling of its path, and serves it on INTERNAL_PORT', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const ticket = await session.ticket();
    const auth = { authorization: `Bearer ${stack.key}` };
    for (const path of [
      '/internal/tickets/exchange',
      '/INTERNAL/tickets/exchange',
      '/%69nternal/tickets/exchange',
      '//internal/tickets/exchange',
      '/internal/tickets/exchange/',
    ])
      expectNotFound(await postJson(`${stack.auth.url}${path}`, { ticket }, auth));
    const body = JSON.stringify({ ticket });
    const absolute = await rawRequest(
      stack.auth.url,
      `POST http://127.0.0.1/internal/tickets/exchange HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(absolute.status).toBe(404);
    expect(ErrorBodySchema.parse(JSON.parse(absolute.body)).error).toBe('not_found');
    // None of the refused attempts consumed it: the internal port exchanges it once.
    const exchanged = await exchange(internalUrl, stack.key, ticket);
    expect(exchanged.status).toBe(200);
  });

  it('serves /metrics and /docs only on METRICS_PORT', async () => {
    for (const path of ['/metrics', '/docs', '/docs/openapi.json', '/Metrics'])
      expectNotFound(await getJson(`${stack.auth.url}${path}`));
    for (const path of ['/metrics', '/docs/openapi.json'])
      expectNotFound(await getJson(`${internalUrl}${path}`));
    const metrics = await getJson(`${authMetricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('http_request_duration_seconds');
    const docs = await getJson(`${authMetricsUrl}/docs/openapi.json`);
    expect(docs.status).toBe(200);
    expect(docs.body).toHaveProperty('openapi');
  });

  it('keeps the public API on PORT only, and health on every port', async () => {
    const tokens = await login(stack.auth.url, USERS[1], PASSWORD);
    expect(tokens.access_token).toEqual(expect.any(String));
    for (const url of [internalUrl, authMetricsUrl])
      expectNotFound(await postJson(`${url}/auth/login`, { email: USERS[1], password: PASSWORD }));
    for (const url of [stack.auth.url, internalUrl, authMetricsUrl, gateway.url, gatewayMetricsUrl])
      expect((await getJson(`${url}/health/live`)).status).toBe(200);
  });

  it('lets the gateway exchange tickets through INTERNAL_PORT, and serves its /metrics only on METRICS_PORT', async () => {
    const session = await loginAs(stack.auth.url, USERS[2]);
    const socket = await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), [
      'agent.v1',
    ]);
    try {
      expectNotFound(await getJson(`${gateway.url}/metrics`));
      const metrics = await getJson(`${gatewayMetricsUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metricValue(String(metrics.body), 'ws_active_connections')).toBe(1);
    } finally {
      closeAll([socket.ws]);
    }
  });
});
