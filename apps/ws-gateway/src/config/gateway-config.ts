import {
  DEFAULT_MAX_PENDING_RUNS,
  DEFAULT_MAX_RUNS_PER_USER,
  DEFAULT_RUN_RETENTION_SECONDS,
  DEFAULT_WS_PATH,
} from '@admitone/agent-events';
import { DEVELOPMENT_EXCHANGE_CLIENT_KEY } from '@admitone/auth-contracts';
import {
  allowedOriginsSchema,
  LogLevelSchema,
  NodeEnvSchema,
  portSchema,
  rateLimitSchema,
  RedisPrefixSchema,
  RedisUrlSchema,
  refuseInsecureProductionDefaults,
} from '@admitone/service-runtime';
import { z } from 'zod';

/**
 * Every setting of ws-gateway, validated once at start. Contract section 5
 * names PORT, NODE_ENV, LOG_LEVEL, REDIS_URL, ALLOWED_ORIGINS,
 * AUTH_SERVICE_URL, EXCHANGE_CLIENT_KEY, WS_PATH, UPGRADE_RATE_LIMIT and
 * MESSAGE_RATE_LIMIT; the rest are ours, with defaults that fit Cloud Run
 * (10 s grace period) and Kubernetes (30 s).
 */
const int = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

export const GatewayConfigSchema = z
  .object({
    NODE_ENV: NodeEnvSchema,
    PORT: portSchema(8080),
    HOST: z.string().default('0.0.0.0'),
    LOG_LEVEL: LogLevelSchema,
    REDIS_URL: RedisUrlSchema,
    REDIS_PREFIX: RedisPrefixSchema,
    ALLOWED_ORIGINS: allowedOriginsSchema('http://localhost:4200,http://127.0.0.1:4200'),
    /** Proxy hops in front of the gateway whose X-Forwarded-For is trusted. */
    TRUST_PROXY_HOPS: int(0, 0, 10),
    AUTH_SERVICE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8081'),
    /**
     * `true` lets production reach auth-service over plain http, which carries
     * tickets and the service key in clear: only where the hop is private or
     * TLS is added outside the process (in-cluster network, a mesh sidecar).
     */
    AUTH_SERVICE_ALLOW_HTTP: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** Cloud Run IAM: calls to auth-service carry an ID token for this audience (its URL). */
    AUTH_SERVICE_AUDIENCE: z.url({ protocol: /^https$/ }).optional(),
    /** The metadata server that issues those ID tokens. */
    GCE_METADATA_HOST: z.string().min(1).default('metadata.google.internal'),
    EXCHANGE_CLIENT_KEY: z.string().min(1).default(DEVELOPMENT_EXCHANGE_CLIENT_KEY),
    EXCHANGE_TIMEOUT_MS: int(2000, 50, 30_000),
    WS_PATH: z
      .string()
      .regex(/^\/[A-Za-z0-9/_.-]*$/, 'must be a path like /ws')
      .default(DEFAULT_WS_PATH),
    UPGRADE_RATE_LIMIT: rateLimitSchema('60/60s'),
    MESSAGE_RATE_LIMIT: rateLimitSchema('30/10s'),
    MAX_CONNECTIONS_PER_USER: int(10, 1, 10_000),
    /** Upgrades being checked (before their 101 or refusal) at once; more get 503 `unavailable`. */
    MAX_PENDING_UPGRADES: int(1000, 1, 100_000),
    /** A refused upgrade's socket is destroyed this long after its answer if the client keeps it open. */
    REFUSED_SOCKET_GRACE_MS: int(1000, 10, 10_000),
    /**
     * A client whose unread bytes pass this is closed with 1013 at once; past a
     * quarter of it, agent events are held back until it reads (contract 4.3).
     */
    MAX_BUFFERED_BYTES: int(1024 * 1024, 64 * 1024, 64 * 1024 * 1024),
    /**
     * How long a client may stay behind the soft mark before the 1013 close,
     * and how long that close may then take before the socket is destroyed.
     */
    SLOW_READER_TIMEOUT_MS: int(10_000, 100, 120_000),
    HEARTBEAT_INTERVAL_MS: int(25_000, 100, 600_000),
    AUTH_EXPIRING_LEAD_SECONDS: int(60, 1, 3600),
    SESSION_RECHECK_INTERVAL_MS: int(15_000, 100, 30_000),
    DRAIN_SECONDS: int(5, 0, 120),
    /** How long a run's events are kept for `resume`. */
    RUN_RETENTION_SECONDS: int(DEFAULT_RUN_RETENTION_SECONDS, 1, 7 * 24 * 3600),
    /** A chat is refused with `too_many_runs` while the user has this many runs queued or running. */
    MAX_RUNS_PER_USER: int(DEFAULT_MAX_RUNS_PER_USER, 1, 1000),
    /** A chat is refused with `busy` while this many requests (all users) are queued or running. */
    MAX_PENDING_RUNS: int(DEFAULT_MAX_PENDING_RUNS, 1, 10_000_000),
    /** A chat with no agent_started within this gets an `error` instead of silence. */
    CHAT_ACK_TIMEOUT_MS: int(15_000, 100, 300_000),
    /** In-memory mode only: pacing of the in-process reference agent. */
    AGENT_STEP_DELAY_MS: int(150, 0, 60_000),
    /** When set, /metrics answers on this port only (404 on PORT). Unset: on PORT. */
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  })
  .superRefine(refuseInsecureProductionDefaults)
  .superRefine((c, ctx) => {
    if (c.METRICS_PORT !== undefined && c.METRICS_PORT === c.PORT)
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' });
  })
  .superRefine((c, ctx) => {
    if (
      c.NODE_ENV === 'production' &&
      (c.EXCHANGE_CLIENT_KEY === DEVELOPMENT_EXCHANGE_CLIENT_KEY ||
        c.EXCHANGE_CLIENT_KEY.length < 32)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['EXCHANGE_CLIENT_KEY'],
        message: 'must be set to a key of at least 32 characters in production',
      });
    }
    if (
      c.NODE_ENV === 'production' &&
      new URL(c.AUTH_SERVICE_URL).protocol === 'http:' &&
      !c.AUTH_SERVICE_ALLOW_HTTP
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_SERVICE_URL'],
        message:
          'must be https in production (it carries tickets and the service key); set AUTH_SERVICE_ALLOW_HTTP=true only for a private hop',
      });
    }
  });

export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
