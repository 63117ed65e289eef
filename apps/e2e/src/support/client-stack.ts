import {
  AgentClient,
  AgentClientEvents,
  AgentClientOptions,
  AgentEvent,
  StateChange,
} from '@admitone/client';
import { TokenResponseSchema } from '@admitone/auth-contracts';
import type { TestRedis } from '@admitone/testing';
import WebSocket from 'ws';
import { accessTokenClaims, exchangeKey, login, refresh, signingKey } from './auth-client';
import { AuthStack, Env, PASSWORD, startAuth, startGateway, USERS } from './gateway-stack';
import { ServiceProcess, startService } from './service-process';

/**
 * The real services for the SDK's end-to-end tests, and an app around the
 * SDK: a session that refreshes its access token when it is about to
 * expire (what an app's `getAccessToken` does), and a recorder of
 * everything the client emitted. Two stacks:
 * - memory: auth-service and one ws-gateway without REDIS_URL; the gateway
 *   runs the reference agent in-process (AGENT_STEP_DELAY_MS paces it);
 * - redis: the deployment shape, with an agent-worker process, so a run
 *   outlives a gateway restart and revocations arrive over pub/sub.
 */
export interface ClientStack {
  auth: ServiceProcess;
  gateway: ServiceProcess;
  worker?: ServiceProcess;
  authUrl: string;
  /** `ws://host:port/ws` of the gateway (stable across restartGateway). */
  gatewayUrl: string;
  /** SIGTERM (drain: sockets close with 1012), then the same gateway again on the same port. */
  restartGateway(): Promise<ServiceProcess>;
}

function wsUrlOf(gateway: ServiceProcess): string {
  return `${gateway.url.replace(/^http/, 'ws')}/ws`;
}

export async function startMemoryStack(
  options: { auth?: Env; gateway?: Env } = {},
): Promise<ClientStack> {
  const key = exchangeKey();
  const auth = await startService('auth-service', {
    EXCHANGE_CLIENT_KEYS: key,
    JWT_SIGNING_KEYS: JSON.stringify([await signingKey('e2e-client')]),
    SEED_USERS: USERS.map((email) => `${email}:${PASSWORD}`).join(','),
    LOGIN_RATE_LIMIT: '1000/60s',
    TICKET_RATE_LIMIT: '1000/60s',
    ...options.auth,
  });
  const gatewayEnv: Env = {
    AUTH_SERVICE_URL: auth.url,
    EXCHANGE_CLIENT_KEY: key,
    UPGRADE_RATE_LIMIT: '1000/60s',
    AGENT_STEP_DELAY_MS: '50',
    SESSION_RECHECK_INTERVAL_MS: '500',
    DRAIN_SECONDS: '0',
    ...options.gateway,
  };
  const stack: ClientStack = {
    auth,
    gateway: await startService('ws-gateway', gatewayEnv),
    authUrl: auth.url,
    gatewayUrl: '',
    async restartGateway() {
      const port = String(stack.gateway.port);
      await stack.gateway.stop();
      stack.gateway = await startService('ws-gateway', { ...gatewayEnv, PORT: port });
      return stack.gateway;
    },
  };
  stack.gatewayUrl = wsUrlOf(stack.gateway);
  return stack;
}

export async function startRedisStack(
  redis: TestRedis,
  options: { auth?: Env; gateway?: Env; worker?: Env | false } = {},
): Promise<ClientStack> {
  const authStack: AuthStack = await startAuth(redis, options.auth);
  const gatewayEnv: Env = { DRAIN_SECONDS: '0', ...options.gateway };
  const stack: ClientStack = {
    auth: authStack.auth,
    gateway: await startGateway(redis, authStack, gatewayEnv),
    authUrl: authStack.auth.url,
    gatewayUrl: '',
    async restartGateway() {
      const port = String(stack.gateway.port);
      await stack.gateway.stop();
      stack.gateway = await startGateway(redis, authStack, { ...gatewayEnv, PORT: port });
      return stack.gateway;
    },
  };
  stack.gatewayUrl = wsUrlOf(stack.gateway);
  if (options.worker !== false)
    stack.worker = await startService('agent-worker', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      AGENT_STEP_DELAY_MS: '50',
      ...options.worker,
    });
  return stack;
}

/**
 * A logged-in app: `getAccessToken` hands out the current access token and
 * refreshes it (POST /auth/refresh, rotating the refresh token) when it
 * expires within `refreshWithinMs` (0: only once expired), as an app's
 * token logic would; 'never' models an app that cannot refresh.
 */
export class AppSession {
  /** Every token handed to the SDK (to prove none reached a log). */
  readonly handedOut: string[] = [];
  refreshes = 0;
  private constructor(
    private readonly authUrl: string,
    private accessToken: string,
    private refreshToken: string,
    private readonly refreshWithinMs: number | 'never',
  ) {}

  static async login(
    authUrl: string,
    email: string,
    refreshWithinMs: number | 'never' = 0,
  ): Promise<AppSession> {
    const tokens = await login(authUrl, email, PASSWORD);
    return new AppSession(authUrl, tokens.access_token, tokens.refresh_token, refreshWithinMs);
  }

  get token(): string {
    return this.accessToken;
  }

  readonly getAccessToken = async (): Promise<string> => {
    const expiresAt = accessTokenClaims(this.accessToken).exp * 1000;
    if (this.refreshWithinMs !== 'never' && expiresAt - Date.now() < this.refreshWithinMs) {
      const res = await refresh(this.authUrl, this.refreshToken);
      if (res.status !== 200) throw new Error(`refresh failed with ${res.status}`);
      const tokens = TokenResponseSchema.parse(res.body);
      this.accessToken = tokens.access_token;
      this.refreshToken = tokens.refresh_token;
      this.refreshes += 1;
    }
    this.handedOut.push(this.accessToken);
    return this.accessToken;
  };
}

/** Everything an AgentClient emitted, in order, with waits that fail with a description. */
export class ClientRecorder {
  readonly states: StateChange[] = [];
  readonly events: AgentEvent[] = [];
  readonly emitted: Array<{ name: keyof AgentClientEvents; payload: unknown }> = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly client: AgentClient,
    /** What the client's logger received. */
    readonly logLines: string[] = [],
  ) {
    const names: Array<keyof AgentClientEvents> = [
      'connection_established',
      'auth_expiring',
      'reauth_ok',
      'pong',
      'error',
      'protocol_error',
      'session_revoked',
      'auth_failed',
    ];
    for (const name of names)
      client.on(name, (payload) => {
        this.emitted.push({ name, payload });
        this.wake();
      });
    client.on('event', (event) => {
      this.events.push(event);
      this.wake();
    });
    client.on('state', (change) => {
      this.states.push(change);
      this.wake();
    });
  }

  stateNames(): string[] {
    return this.states.map((s) => s.state);
  }

  of(name: keyof AgentClientEvents): unknown[] {
    return this.emitted.filter((e) => e.name === name).map((e) => e.payload);
  }

  eventsOf(runId: string): AgentEvent[] {
    return this.events.filter((e) => e.run_id === runId);
  }

  runIds(): string[] {
    return [...new Set(this.events.map((e) => e.run_id))];
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; states: ${this.stateNames().join(' -> ')}; ` +
            `events: ${this.events.map((e) => `${e.type}#${e.event_id}`).join(', ')}`,
        );
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 100));
        this.waiters.add(done);
      });
    }
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** An SDK client on Node's `ws`, with quick backoff and a logger the test can search. */
export function sdkClient(
  stack: ClientStack,
  session: AppSession,
  options: Partial<AgentClientOptions> = {},
): { client: AgentClient; recorder: ClientRecorder } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  const client = new AgentClient({
    authUrl: stack.authUrl,
    gatewayUrl: stack.gatewayUrl,
    getAccessToken: session.getAccessToken,
    WebSocket,
    backoff: { initialMs: 100, maxMs: 1000 },
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    ...options,
  });
  return { client, recorder: new ClientRecorder(client, lines) };
}

/** Log lines of a service with `msg` (pino JSON), optionally matching some fields. */
export function serviceLogs(
  service: ServiceProcess,
  msg: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown>[] {
  return service
    .logLines()
    .filter((l) => l['msg'] === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
