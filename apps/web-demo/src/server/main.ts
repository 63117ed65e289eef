import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import {
  ConfigError,
  createLogger,
  LogLevelSchema,
  loadConfig,
  pathOnly,
  portSchema,
} from '@admitone/service-runtime';
import { z } from 'zod';

/**
 * Serves the demo page and its runtime configuration (which auth-service and
 * gateway to talk to, and optionally an OpenID provider to sign in with).
 * Strict headers: a CSP that allows scripts only from this origin and
 * connections only to the two services (and the provider's discovery and
 * token endpoints), and no Referer, so a ticket or an authorization code in
 * a URL can never leak through one.
 */
const ConfigSchema = z
  .object({
    PORT: portSchema(4200),
    HOST: z.string().default('0.0.0.0'),
    LOG_LEVEL: LogLevelSchema,
    AUTH_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:8081'),
    GATEWAY_URL: z.url({ protocol: /^wss?$/ }).default('ws://localhost:8080/ws'),
    /** An OpenID provider (one of auth-service's OIDC_ISSUERS) to offer "Sign in with" for. */
    DEMO_OIDC_ISSUER: z
      .url({ protocol: /^https?$/ })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** The demo's client at that provider: a public client (no secret), PKCE, redirect to this page. */
    DEMO_OIDC_CLIENT_ID: z.string().min(1).optional(),
    /** The provider's name on the button. */
    DEMO_OIDC_NAME: z.string().min(1).max(60).default('the local OpenID provider'),
  })
  .refine((c) => !c.DEMO_OIDC_ISSUER || c.DEMO_OIDC_CLIENT_ID, {
    path: ['DEMO_OIDC_CLIENT_ID'],
    error: 'is required with DEMO_OIDC_ISSUER',
  });

let config: z.output<typeof ConfigSchema>;
try {
  config = loadConfig(ConfigSchema);
} catch (error) {
  createLogger('web-demo').fatal(
    { problems: (error as ConfigError).problems },
    (error as Error).message,
  );
  process.exit(1);
}
const logger = createLogger('web-demo', config.LOG_LEVEL);
const publicDir = join(__dirname, 'public');
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};
const csp = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  `connect-src 'self' ${new URL(config.AUTH_URL).origin} ${new URL(config.GATEWAY_URL).origin}${
    config.DEMO_OIDC_ISSUER ? ` ${new URL(config.DEMO_OIDC_ISSUER).origin}` : ''
  }`,
  // The page posts no form anywhere (sign-in goes to the provider by a redirect, not a form).
  "form-action 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function send(res: ServerResponse, status: number, body: string | Buffer, type: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': csp,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOnly(req.url) || '/';
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return send(res, 405, '{"error":"not_found"}', 'application/json');
  if (path === '/health/live' || path === '/health/ready')
    return send(res, 200, '{"status":"ok","checks":{}}', 'application/json');
  if (path === '/config.json') {
    return send(
      res,
      200,
      JSON.stringify({
        authUrl: config.AUTH_URL,
        gatewayUrl: config.GATEWAY_URL,
        ...(config.DEMO_OIDC_ISSUER
          ? {
              oidc: {
                issuer: config.DEMO_OIDC_ISSUER,
                clientId: config.DEMO_OIDC_CLIENT_ID,
                name: config.DEMO_OIDC_NAME,
              },
            }
          : {}),
      }),
      'application/json',
    );
  }
  const file = normalize(join(publicDir, path === '/' ? 'index.html' : path));
  // With the separator: a sibling such as `public-old/` must not pass as inside.
  if (!file.startsWith(publicDir + sep)) return send(res, 404, 'not found', 'text/plain');
  try {
    send(res, 200, await readFile(file), types[extname(file)] ?? 'application/octet-stream');
  } catch {
    send(res, 404, 'not found', 'text/plain');
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: Error) => {
    logger.error({ err: error.message }, 'request failed');
    send(res, 500, 'internal error', 'text/plain');
  });
});
server.listen(config.PORT, config.HOST, () =>
  logger.info(
    {
      url: `http://localhost:${config.PORT}`,
      auth_url: config.AUTH_URL,
      gateway_url: config.GATEWAY_URL,
      ...(config.DEMO_OIDC_ISSUER ? { oidc_issuer: config.DEMO_OIDC_ISSUER } : {}),
    },
    'web-demo listening',
  ),
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
