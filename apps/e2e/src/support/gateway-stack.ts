import type { TestRedis } from '@admitone/testing';
import { exchangeKey, getJson, issueTicket, login, signingKey } from './auth-client';
import { freePort, ServiceProcess, startService } from './service-process';

/**
 * Starts the real pair (auth-service and one or more ws-gateway replicas)
 * the way a deployment wires them: one Redis prefix shared by every replica,
 * the gateway's EXCHANGE_CLIENT_KEY one of auth's EXCHANGE_CLIENT_KEYS, and
 * generous rate limits unless a test is about a limit. Every ticket issued
 * through `ticketFor` is remembered so a test can prove none reached a log.
 */
export const PASSWORD = 'correct-horse-battery';
export const USERS = [
  'alice@example.com',
  'bob@example.com',
  'carol@example.com',
  'dave@example.com',
  'erin@example.com',
];

export type Env = Record<string, string | undefined>;

export interface AuthStack {
  auth: ServiceProcess;
  /** The environment auth-service was started with (to restart it identically). */
  env: Env;
  key: string;
}

export async function authEnv(redis: TestRedis, overrides: Env = {}): Promise<Env> {
  return {
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    EXCHANGE_CLIENT_KEYS: exchangeKey(),
    JWT_SIGNING_KEYS: JSON.stringify([await signingKey('e2e-1')]),
    SEED_USERS: USERS.map((email) => `${email}:${PASSWORD}`).join(','),
    LOGIN_RATE_LIMIT: '1000/60s',
    TICKET_RATE_LIMIT: '1000/60s',
    ...overrides,
  };
}

export async function startAuth(redis: TestRedis, overrides: Env = {}): Promise<AuthStack> {
  const env = await authEnv(redis, overrides);
  const auth = await startService('auth-service', env);
  return { auth, env, key: String(env['EXCHANGE_CLIENT_KEYS']).split(',')[0] };
}

/**
 * auth-service and the given gateways, started together: auth's port is
 * chosen first, so the gateways boot while auth-service does (each waits
 * for its own readiness, which includes reaching auth-service).
 */
export async function startStack(
  redis: TestRedis,
  authOverrides: Env = {},
  gateways: Env[] = [{}],
): Promise<{ stack: AuthStack; gateways: ServiceProcess[] }> {
  const env = await authEnv(redis, { PORT: String(await freePort()), ...authOverrides });
  const key = String(env['EXCHANGE_CLIENT_KEYS']).split(',')[0];
  const authUrl = `http://127.0.0.1:${env['PORT']}`;
  const [auth, ...started] = await Promise.all([
    startService('auth-service', env),
    ...gateways.map((overrides) =>
      startService('ws-gateway', gatewayEnv(redis, { authUrl, key }, overrides)),
    ),
  ]);
  return { stack: { auth, env, key }, gateways: started };
}

export function gatewayEnv(
  redis: TestRedis,
  to: { authUrl: string; key: string },
  overrides: Env = {},
): Env {
  return {
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    AUTH_SERVICE_URL: to.authUrl,
    EXCHANGE_CLIENT_KEY: to.key,
    UPGRADE_RATE_LIMIT: '1000/60s',
    ...overrides,
  };
}

export function startGateway(
  redis: TestRedis,
  stack: AuthStack,
  overrides: Env = {},
): Promise<ServiceProcess> {
  return startService(
    'ws-gateway',
    gatewayEnv(redis, { authUrl: stack.auth.url, key: stack.key }, overrides),
  );
}

const issued: string[] = [];

/** Every ticket issued in this test file so far. */
export function issuedTickets(): string[] {
  return [...issued];
}

/** A session (one login) that hands out tickets. */
export interface Session {
  email: string;
  accessToken: string;
  ticket(origin?: string): Promise<string>;
}

export async function loginAs(authUrl: string, email: string): Promise<Session> {
  const tokens = await login(authUrl, email, PASSWORD);
  return {
    email,
    accessToken: tokens.access_token,
    async ticket(origin?: string) {
      const ticket = await issueTicket(authUrl, tokens.access_token, origin);
      issued.push(ticket);
      return ticket;
    },
  };
}

/** The gateway's Prometheus text. */
export async function metricsText(service: ServiceProcess): Promise<string> {
  const res = await getJson(`${service.url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return String(res.body);
}

/** The value of one sample, matched by name and a subset of its labels (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample: Record<string, string> = {};
    for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      sample[pair[1]] = pair[2];
    if (Object.entries(labels).every(([k, v]) => sample[k] === v)) total += Number(match[4]);
  }
  return total;
}

/** Every issued ticket that appears anywhere in a service's output (should be none). */
export function leakedTickets(service: ServiceProcess, tickets = issuedTickets()): string[] {
  const output = service.output();
  return tickets.filter((t) => output.includes(t));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
