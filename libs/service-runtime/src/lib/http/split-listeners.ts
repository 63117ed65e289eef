import type { INestApplication } from '@nestjs/common';
import type { ErrorBody } from '@admitone/auth-contracts';
import { ERROR_CODES } from '@admitone/auth-contracts';
import { createServer, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { pathOnly, requestIdFrom } from '../logging/logging';

/**
 * Optional extra listeners for the routes only the platform may call
 * (`/internal/*` for the gateways, `/metrics` and `/docs` for operators).
 *
 * A platform can only keep a route private by port: a Kubernetes Service,
 * Ingress and NetworkPolicy, like Cloud Run's single ingress port, see ports,
 * not paths. So each listener here owns some path prefixes, and the same
 * Express application answers on every port, with one rule in front of it:
 * a request is served only on the port that owns its path. Anywhere else it
 * gets the contract's 404 `not_found`, as an unknown route does. `/health/*` answers
 * on every port (probes and load balancers use whichever they know).
 *
 * With no extra listener everything stays on the main port, as before.
 */
export interface SideListener {
  /** For logs: `internal`, `metrics`. */
  name: string;
  port: number;
  /** Path prefixes this port owns, e.g. `/internal`. */
  prefixes: string[];
}

const EVERYWHERE = ['/health'];

/**
 * The path as the router will match it: decoded, slashes collapsed and
 * lower-cased (Express routes are case-insensitive), so `/Internal/...` or
 * `/%69nternal/...` cannot slip past the owner check into the route.
 */
export function routingPath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Undecodable: the router will not match it to a route either.
  }
  return decoded.replace(/\/{2,}/g, '/').toLowerCase();
}

const owns = (prefix: string, path: string) => path === prefix || path.startsWith(`${prefix}/`);

/** The listener that owns `path`, or undefined for the main port. */
export function ownerOf(
  listeners: readonly SideListener[],
  path: string,
): SideListener | undefined {
  const p = routingPath(path);
  return listeners.find((l) => l.prefixes.some((prefix) => owns(prefix, p)));
}

/** The path of a request target, origin-form or absolute-form, as Express reads it. */
function targetPath(url: string | undefined): string {
  if (!url) return '/';
  if (url.startsWith('/')) return pathOnly(url);
  try {
    return new URL(url).pathname;
  } catch {
    return pathOnly(url);
  }
}

function refuse(req: IncomingMessage, res: ServerResponse): void {
  const requestId = requestIdFrom(req.headers['x-request-id']);
  const body: ErrorBody = {
    error: 'not_found',
    message: ERROR_CODES.not_found.message,
    request_id: requestId,
  };
  const text = JSON.stringify(body);
  res.writeHead(404, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(text);
}

/**
 * Listens on `port` and on each side listener. Call instead of
 * `app.listen(port, host)`; the side servers close with the app. The check
 * runs in front of the whole Express application (routes that libraries
 * mount early, like Swagger's /docs, included), on the raw request.
 */
export async function listenSplit(
  app: INestApplication,
  port: number,
  host: string,
  listeners: readonly SideListener[],
): Promise<Server[]> {
  if (listeners.length === 0) {
    await app.listen(port, host);
    return [];
  }
  const main = app.getHttpServer() as Server;
  const [handler] = main.listeners('request') as RequestListener[];
  const guarded =
    (listener: SideListener | undefined): RequestListener =>
    (req, res) => {
      const path = routingPath(targetPath(req.url));
      if (EVERYWHERE.some((prefix) => owns(prefix, path)) || ownerOf(listeners, path) === listener)
        return handler(req, res);
      refuse(req, res);
    };
  main.removeAllListeners('request');
  main.on('request', guarded(undefined));
  await app.listen(port, host);
  const servers = await Promise.all(
    listeners.map(
      (listener) =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer(guarded(listener));
          server.once('error', reject);
          server.listen(listener.port, host, () => resolve(server));
        }),
    ),
  );
  main.once('close', () => {
    for (const server of servers) {
      server.close();
      server.closeAllConnections();
    }
  });
  return servers;
}
