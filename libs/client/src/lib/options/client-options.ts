import { z } from 'zod';
import type { FetchLike, WebSocketConstructor } from '../transport/transport-types';
import type { ClientLogger, StateChange } from '../client-types';
import type { ProviderTokenType } from '../auth/provider-session';
import { nearestName } from './nearest-name';

/**
 * The options of `new AgentClient(...)`, validated once at construction with
 * zod: a misspelt name throws with the nearest valid one ("unknown option
 * 'getAcessToken'; did you mean 'getAccessToken'?") and a wrong type throws
 * naming the option, so a typo never silently becomes a default.
 */
export type TicketCarrier = 'subprotocol' | 'query';

export interface BackoffOptions {
  /** Ceiling of the first retry's delay; doubles per attempt. Default 500. */
  initialMs?: number;
  /** Cap of the ceiling. Default 30 000. */
  maxMs?: number;
}

export interface AgentClientOptions {
  /** Base URL of auth-service, e.g. `https://auth.example.com` (the SDK POSTs `/websocket/ticket`). */
  authUrl: string;
  /** The gateway's WebSocket URL, e.g. `wss://gw.example.com/ws` (`http(s)` is turned into `ws(s)`). */
  gatewayUrl: string;
  /**
   * Returns a currently valid access token. Called before every ticket
   * (connect, every reconnect, every renewal), so the app's refresh logic
   * runs whenever the SDK needs to prove who the user is. Give this (users
   * signed in with AdmitOne, e.g. `POST /auth/login`) or `getProviderToken`.
   */
  getAccessToken?: () => string | Promise<string>;
  /**
   * Returns the identity provider's token for the user (an OpenID Connect
   * ID token, or a JWT access token: see `providerTokenType`). The SDK then
   * signs in itself with `POST /auth/token-exchange`, refreshes the AdmitOne
   * session it got, and calls this again when the session can no longer be
   * refreshed. Give this or `getAccessToken`.
   */
  getProviderToken?: () => string | Promise<string>;
  /** What `getProviderToken` returns: 'id_token' (default) or 'jwt' (a JWT access token). */
  providerTokenType?: ProviderTokenType;
  /** How the ticket reaches the gateway. Default 'subprotocol' (keeps it out of URL logs). */
  carrier?: TicketCarrier;
  /** WebSocket implementation. Default `globalThis.WebSocket`; in Node pass `ws`'s WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation. Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Capped exponential backoff with full jitter for reconnects. */
  backoff?: BackoffOptions;
  /** Renew (reauth) this long before `auth_expires_at`, or on `auth_expiring`, whichever is first. Default 60 000. */
  renewBeforeMs?: number;
  /** Upgrade plus first frame must complete within this. Default 10 000. */
  connectTimeoutMs?: number;
  /** Also available as `client.on('state', ...)`. */
  onStateChange?: (change: StateChange) => void;
  /** Receives operational messages; never tokens or tickets. `console` fits. */
  logger?: ClientLogger;
}

export interface ResolvedOptions {
  authUrl: string;
  gatewayUrl: string;
  /** Exactly one of the two ways in. */
  identity:
    | { kind: 'access_token'; getAccessToken: () => string | Promise<string> }
    | {
        kind: 'provider_token';
        getProviderToken: () => string | Promise<string>;
        providerTokenType: ProviderTokenType;
      };
  carrier: TicketCarrier;
  WebSocket: WebSocketConstructor;
  fetch: FetchLike;
  backoff: { initialMs: number; maxMs: number };
  renewBeforeMs: number;
  connectTimeoutMs: number;
  onStateChange?: (change: StateChange) => void;
  logger: Required<ClientLogger>;
}

export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;
export const DEFAULT_RENEW_BEFORE_MS = 60_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const aFunction = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
  error: 'must be a function',
});
const milliseconds = (error: string) => z.number({ error }).int({ error }).nonnegative({ error });

const BackoffSchema = z
  .strictObject({
    initialMs: milliseconds('must be a non-negative integer (ms)')
      .positive('must be positive')
      .default(DEFAULT_BACKOFF.initialMs),
    maxMs: milliseconds('must be a non-negative integer (ms)')
      .positive('must be positive')
      .default(DEFAULT_BACKOFF.maxMs),
  })
  .refine((b) => b.maxMs >= b.initialMs, {
    error: 'must be at least backoff.initialMs',
    path: ['maxMs'],
  });

export const AgentClientOptionsSchema = z.strictObject({
  authUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  gatewayUrl: z.url({ protocol: /^(wss?|https?)$/, error: 'must be a ws(s) URL' }),
  getAccessToken: aFunction.optional(),
  getProviderToken: aFunction.optional(),
  providerTokenType: z
    .enum(['id_token', 'jwt'], { error: "must be 'id_token' or 'jwt'" })
    .optional(),
  carrier: z
    .enum(['subprotocol', 'query'], { error: "must be 'subprotocol' or 'query'" })
    .default('subprotocol'),
  WebSocket: aFunction.optional(),
  fetch: aFunction.optional(),
  backoff: BackoffSchema.optional(),
  renewBeforeMs: milliseconds('must be a non-negative integer (ms)').default(
    DEFAULT_RENEW_BEFORE_MS,
  ),
  connectTimeoutMs: milliseconds('must be a positive integer (ms)')
    .positive('must be a positive integer (ms)')
    .default(DEFAULT_CONNECT_TIMEOUT_MS),
  onStateChange: aFunction.optional(),
  logger: z
    .custom<ClientLogger>((v) => typeof v === 'object' && v !== null, {
      error: 'must be an object with debug/info/warn/error methods',
    })
    .optional(),
});

/** Valid option names by nesting path ('' is the top level). */
const KNOWN_NAMES: Record<string, readonly string[]> = {
  '': Object.keys(AgentClientOptionsSchema.shape),
  backoff: ['initialMs', 'maxMs'],
};

export class AgentClientOptionsError extends TypeError {
  override readonly name = 'AgentClientOptionsError';
  constructor(
    /** Every problem found, one sentence each; the message joins them. */
    readonly problems: string[],
  ) {
    super(problems.join('\n'));
  }
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeIssues(raw: unknown, issues: z.core.$ZodIssue[]): string[] {
  const unknown: string[] = [];
  const suggested = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const prefix = issue.path.map(String).join('.');
    const known = KNOWN_NAMES[prefix] ?? [];
    const qualify = (name: string) => (prefix ? `${prefix}.${name}` : name);
    for (const key of issue.keys) {
      const near = nearestName(key, known);
      if (near) suggested.add(qualify(near));
      unknown.push(
        near
          ? `unknown option '${qualify(key)}'; did you mean '${qualify(near)}'?`
          : `unknown option '${qualify(key)}'; valid options are ${known.join(', ')}`,
      );
    }
  }
  const other: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const name = issue.path.map(String).join('.') || '(options)';
    if (valueAt(raw, issue.path) === undefined) {
      // A misspelling reported above is the cause; do not report it twice.
      if (!suggested.has(name)) other.push(`missing required option '${name}'`);
    } else {
      other.push(`invalid option '${name}': ${issue.message.replace(/^Invalid input: /, '')}`);
    }
  }
  return [...unknown, ...other];
}

function resolveGlobal<T>(name: 'WebSocket' | 'fetch', hint: string): T {
  const value = (globalThis as Record<string, unknown>)[name];
  if (typeof value !== 'function')
    throw new AgentClientOptionsError([
      `missing required option '${name}': this environment has no global ${name}; ${hint}`,
    ]);
  // Browsers throw "Illegal invocation" when fetch is called with another `this`.
  return (name === 'fetch' ? value.bind(globalThis) : value) as T;
}

const noop = () => undefined;

type TokenGetter = () => string | Promise<string>;

/**
 * Exactly one way in. Checked on the raw options beside the schema, so a
 * missing one is listed with the schema's problems; a misspelt one was
 * already named by its suggestion and is not also called missing.
 */
function identityProblems(raw: Record<string, unknown>, reported: string[]): string[] {
  const has = (name: string) => raw[name] !== undefined;
  if (has('getAccessToken') && has('getProviderToken'))
    return ["options 'getAccessToken' and 'getProviderToken' exclude each other; give one"];
  if (has('providerTokenType') && !has('getProviderToken'))
    return ["option 'providerTokenType' needs 'getProviderToken'"];
  if (has('getAccessToken') || has('getProviderToken')) return [];
  if (reported.some((p) => /did you mean '(getAccessToken|getProviderToken)'/.test(p))) return [];
  return ["missing required option 'getAccessToken' (or 'getProviderToken')"];
}

function resolveIdentity(o: z.infer<typeof AgentClientOptionsSchema>): ResolvedOptions['identity'] {
  if (o.getProviderToken)
    return {
      kind: 'provider_token',
      getProviderToken: o.getProviderToken as TokenGetter,
      providerTokenType: o.providerTokenType ?? 'id_token',
    };
  return { kind: 'access_token', getAccessToken: o.getAccessToken as TokenGetter };
}

/** Validates options, fills defaults and resolves the environment's WebSocket and fetch. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new AgentClientOptionsError([
      'options must be an object with at least authUrl, gatewayUrl and getAccessToken (or getProviderToken)',
    ]);
  const parsed = AgentClientOptionsSchema.safeParse(options);
  const problems = parsed.success ? [] : describeIssues(options, parsed.error.issues);
  problems.push(...identityProblems(options as Record<string, unknown>, problems));
  if (!parsed.success || problems.length > 0) throw new AgentClientOptionsError(problems);
  const o = parsed.data;
  const identity = resolveIdentity(o);
  const logger = o.logger ?? {};
  return {
    authUrl: o.authUrl.replace(/\/+$/, ''),
    gatewayUrl: o.gatewayUrl.replace(/^http/, 'ws'),
    identity,
    carrier: o.carrier,
    WebSocket:
      (o.WebSocket as WebSocketConstructor | undefined) ??
      resolveGlobal<WebSocketConstructor>(
        'WebSocket',
        "in Node pass `WebSocket` from the 'ws' package",
      ),
    fetch:
      (o.fetch as FetchLike | undefined) ??
      resolveGlobal<FetchLike>('fetch', 'pass a fetch implementation'),
    backoff: o.backoff ?? { ...DEFAULT_BACKOFF },
    renewBeforeMs: o.renewBeforeMs,
    connectTimeoutMs: o.connectTimeoutMs,
    onStateChange: o.onStateChange as ResolvedOptions['onStateChange'],
    logger: {
      debug: logger.debug?.bind(logger) ?? noop,
      info: logger.info?.bind(logger) ?? noop,
      warn: logger.warn?.bind(logger) ?? noop,
      error: logger.error?.bind(logger) ?? noop,
    },
  };
}
