import { connectTestRedis, TestRedis } from '@admitone/testing';
import { createServer, IncomingMessage, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AuthStack, gatewayEnv, loginAs, startAuth, USERS } from '../support/gateway-stack';
import {
  freePort,
  ServiceProcess,
  startService,
  stopAllServices,
} from '../support/service-process';
import { closeAll, open, refused, wsUrl } from '../support/ws-client';

/**
 * On Cloud Run the internal auth-service refuses callers without the
 * roles/run.invoker role (issue 10 item 7): the gateway must present a
 * Google-signed ID token for the service's URL in X-Serverless-Authorization,
 * fetched from the metadata server. Neither the metadata server nor Cloud
 * Run's front end runs here, so this test stands in for both with small HTTP
 * servers that behave as Google documents them: the metadata server answers
 * `identity?audience=...` only with `Metadata-Flavor: Google`, and the front
 * end answers 403 unless the header carries the token minted for its audience.
 */
const AUDIENCE = 'https://auth-service-internal-123.europe-west1.run.app';

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );

function idToken(audience: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'RS256' })}.${part({ aud: audience, iat: now, exp: now + 3600 })}.c2ln`;
}

describe('IAM-authenticated invocation of the internal auth-service', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  const token = idToken(AUDIENCE);
  const tokenRequests: { flavor?: string | string[]; audience: string | null }[] = [];
  const refusedByFront: string[] = [];
  let metadata: Server;
  let front: Server;
  let metadataHost: string;
  let frontUrl: string;

  beforeAll(async () => {
    redis = await connectTestRedis();
    const internalPort = await freePort();
    stack = await startAuth(redis, { INTERNAL_PORT: String(internalPort) });
    metadata = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://metadata');
      tokenRequests.push({
        flavor: req.headers['metadata-flavor'],
        audience: url.searchParams.get('audience'),
      });
      const ok =
        url.pathname === '/computeMetadata/v1/instance/service-accounts/default/identity' &&
        req.headers['metadata-flavor'] === 'Google' &&
        url.searchParams.get('audience') === AUDIENCE;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'text/plain' }).end(ok ? token : 'no');
    });
    front = createServer((req: IncomingMessage, res) => {
      if (req.headers['x-serverless-authorization'] !== `Bearer ${token}`) {
        refusedByFront.push(req.url ?? '');
        res.writeHead(403, { 'content-type': 'text/html' }).end('<h1>Forbidden</h1>');
        return;
      }
      const upstream = request(
        {
          host: '127.0.0.1',
          port: internalPort,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    metadataHost = await listen(metadata);
    frontUrl = `http://${await listen(front)}`;
  }, 60_000);

  afterAll(async () => {
    await stopAllServices();
    await new Promise((r) => metadata.close(r));
    front.closeAllConnections();
    await new Promise((r) => front.close(r));
    await redis?.cleanup();
  });

  it('exchanges tickets through the front end with a cached ID token for the audience', async () => {
    const gateway: ServiceProcess = await startService(
      'ws-gateway',
      gatewayEnv(
        redis,
        { authUrl: frontUrl, key: stack.key },
        { AUTH_SERVICE_AUDIENCE: AUDIENCE, GCE_METADATA_HOST: metadataHost },
      ),
    );
    const session = await loginAs(stack.auth.url, USERS[0]);
    const sockets = [];
    for (let i = 0; i < 3; i++)
      sockets.push(
        (await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), ['agent.v1'])).ws,
      );
    closeAll(sockets);
    expect(sockets).toHaveLength(3);
    // One fetch served the readiness checks and all three exchanges.
    expect(tokenRequests).toEqual([{ flavor: 'Google', audience: AUDIENCE }]);
    expect(refusedByFront).toEqual([]);
    expect(gateway.output()).not.toContain(token);
    await gateway.stop();
  });

  it('is refused by the front end without AUTH_SERVICE_AUDIENCE, and answers 503 unavailable', async () => {
    const gateway = await startService(
      'ws-gateway',
      gatewayEnv(redis, { authUrl: frontUrl, key: stack.key }),
      { ready: false },
    );
    const live = await (async () => {
      for (;;) {
        try {
          return await fetch(`${gateway.url}/health/live`);
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    expect(live.status).toBe(200);
    const session = await loginAs(stack.auth.url, USERS[1]);
    const refusal = await refused(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), [
      'agent.v1',
    ]);
    expect(refusal.status).toBe(503);
    expect(refusal.body.error).toBe('unavailable');
    expect(refusedByFront).toContain('/internal/tickets/exchange');
    await gateway.stop();
  });
});
