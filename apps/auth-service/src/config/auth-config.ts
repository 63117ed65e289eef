import { readFileSync } from 'node:fs';
import {
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DEFAULT_TICKET_TTL_SECONDS,
  DEVELOPMENT_EXCHANGE_CLIENT_KEY,
} from '@admitone/auth-contracts';
import {
  allowedOriginsSchema,
  commaListSchema,
  LogLevelSchema,
  NodeEnvSchema,
  portSchema,
  rateLimitSchema,
  RedisPrefixSchema,
  RedisUrlSchema,
  refuseInsecureProductionDefaults,
} from '@admitone/service-runtime';
import { z } from 'zod';
import { OidcIssuersSchema } from '../federation/oidc-issuers';

/**
 * Every setting of auth-service, validated once at start. Names come from
 * contract section 5 where it names them; the rest are ours and documented
 * in the README. Production refuses generated keys, default passwords and
 * `*` origins.
 */
export const DEV_EXCHANGE_CLIENT_KEY = DEVELOPMENT_EXCHANGE_CLIENT_KEY;

const intSeconds = (def: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(def);

const DatabaseUrlSchema = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined))
  .pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  );

/** What `users-cli migrate` reads: only the database, so a release step needs nothing else. */
export const MigrateConfigSchema = z.object({ DATABASE_URL: DatabaseUrlSchema });

export const AuthConfigSchema = z
  .object({
    NODE_ENV: NodeEnvSchema,
    PORT: portSchema(8081),
    HOST: z.string().default('0.0.0.0'),
    LOG_LEVEL: LogLevelSchema,
    REDIS_URL: RedisUrlSchema,
    REDIS_PREFIX: RedisPrefixSchema,
    /** The accounts database (PostgreSQL). Required in production; unset, accounts are not durable. */
    DATABASE_URL: DatabaseUrlSchema,
    /** Run the schema migrations at start (default on, except in production: run `migrate` there). */
    DATABASE_MIGRATE_ON_START: z.enum(['true', 'false']).optional(),
    ALLOWED_ORIGINS: allowedOriginsSchema('http://localhost:4200,http://127.0.0.1:4200'),
    TRUST_PROXY: z
      .enum(['true', 'false', '0', '1', '2', '3'])
      .default('false')
      .transform((v) => (v === 'true' ? true : v === 'false' ? false : Number(v))),
    TICKET_TTL_SECONDS: intSeconds(DEFAULT_TICKET_TTL_SECONDS, 300),
    ACCESS_TOKEN_TTL_SECONDS: intSeconds(DEFAULT_ACCESS_TOKEN_TTL_SECONDS, 24 * 3600),
    REFRESH_TOKEN_TTL_SECONDS: intSeconds(7 * 24 * 3600, 90 * 24 * 3600),
    /**
     * Seconds during which a rotated refresh token presented again returns the
     * same successor instead of revoking the session (two tabs, a retry after
     * a timeout); 0 disables. OAuth 2.0 Security BCP 4.14.
     */
    REFRESH_REUSE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
    /** How long a consumed ticket is remembered, so a replay reads `already_used`. */
    USED_TICKET_MEMORY_SECONDS: intSeconds(600, 24 * 3600),
    EXCHANGE_CLIENT_KEYS: commaListSchema,
    JWT_SIGNING_KEYS: z.string().optional(),
    JWT_SIGNING_KEYS_FILE: z.string().optional(),
    JWT_ISSUER: z.string().min(1).default('admitone-auth'),
    JWT_AUDIENCE: z.string().min(1).default('admitone'),
    SEED_USERS: z.string().optional(),
    /** JSON array of trusted OpenID providers for `POST /auth/token-exchange` (see docs/contract.md). */
    OIDC_ISSUERS: OidcIssuersSchema,
    /** Clock skew allowed on `exp`, `nbf` and `iat` of provider tokens. */
    OIDC_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** After a JWKS fetch, an unknown `kid` refetches only once this many seconds have passed. */
    OIDC_JWKS_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    /**
     * Login attempts per client address (every attempt) and failed logins per
     * account (a successful login resets the account's count), `COUNT/SECONDSs`.
     */
    LOGIN_RATE_LIMIT: rateLimitSchema('20/60s'),
    TICKET_RATE_LIMIT: rateLimitSchema('30/60s'),
    /** When set, /internal/* answers on this port only (404 on PORT): the port the gateways call. Unset: on PORT. */
    INTERNAL_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** When set, /metrics and /docs answer on this port only (404 on PORT). Unset: on PORT. */
    METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  })
  .superRefine(refuseInsecureProductionDefaults)
  .superRefine((c, ctx) => {
    if (c.INTERNAL_PORT !== undefined && [c.PORT, c.METRICS_PORT].includes(c.INTERNAL_PORT))
      ctx.addIssue({
        code: 'custom',
        path: ['INTERNAL_PORT'],
        message: 'must differ from PORT and METRICS_PORT',
      });
    if (c.METRICS_PORT !== undefined && c.METRICS_PORT === c.PORT)
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' });
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV !== 'production') return;
    if (c.EXCHANGE_CLIENT_KEYS.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['EXCHANGE_CLIENT_KEYS'],
        message: 'is required in production',
      });
    }
    if (c.EXCHANGE_CLIENT_KEYS.some((k) => k.length < 32 || k === DEV_EXCHANGE_CLIENT_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['EXCHANGE_CLIENT_KEYS'],
        message: 'each key must be at least 32 characters and not the development key',
      });
    }
    if (!c.JWT_SIGNING_KEYS && !c.JWT_SIGNING_KEYS_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SIGNING_KEYS'],
        message: 'is required in production (keys are generated only in development)',
      });
    }
    for (const [i, issuer] of c.OIDC_ISSUERS.entries()) {
      if (!issuer.issuer.startsWith('https://'))
        ctx.addIssue({
          code: 'custom',
          path: ['OIDC_ISSUERS'],
          message: `issuer ${i} must be https in production`,
        });
    }
    if (!c.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_URL'],
        message:
          'is required in production: accounts live in PostgreSQL (postgres://user@host/db, or the Cloud SQL Auth Proxy on localhost)',
      });
    }
    if (c.SEED_USERS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SEED_USERS'],
        message: 'is refused in production; add users with npm run users',
      });
    }
  })
  .transform((c) => ({
    ...c,
    EXCHANGE_CLIENT_KEYS: c.EXCHANGE_CLIENT_KEYS.length
      ? c.EXCHANGE_CLIENT_KEYS
      : [DEV_EXCHANGE_CLIENT_KEY],
    JWT_SIGNING_KEYS:
      c.JWT_SIGNING_KEYS ??
      (c.JWT_SIGNING_KEYS_FILE ? readFileSync(c.JWT_SIGNING_KEYS_FILE, 'utf8') : undefined),
    DATABASE_MIGRATE_ON_START: c.DATABASE_MIGRATE_ON_START
      ? c.DATABASE_MIGRATE_ON_START === 'true'
      : c.NODE_ENV !== 'production',
    SEED_USERS:
      c.SEED_USERS ?? (c.NODE_ENV === 'development' ? 'demo@example.com:demo-password' : undefined),
  }));

export type AuthConfig = z.output<typeof AuthConfigSchema>;
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
