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

/**
 * Every setting of auth-service, validated once at start. Names come from
 * contract section 5 where it names them; the rest are ours and documented
 * in the README. Production refuses generated keys, default passwords and
 * `*` origins.
 */
export const DEV_EXCHANGE_CLIENT_KEY = DEVELOPMENT_EXCHANGE_CLIENT_KEY;

const intSeconds = (def: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(def);

export const AuthConfigSchema = z
  .object({
    NODE_ENV: NodeEnvSchema,
    PORT: portSchema(8081),
    HOST: z.string().default('0.0.0.0'),
    LOG_LEVEL: LogLevelSchema,
    REDIS_URL: RedisUrlSchema,
    REDIS_PREFIX: RedisPrefixSchema,
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
    /**
     * Login attempts per client address (every attempt) and failed logins per
     * account (a successful login resets the account's count), `COUNT/SECONDSs`.
     */
    LOGIN_RATE_LIMIT: rateLimitSchema('20/60s'),
    TICKET_RATE_LIMIT: rateLimitSchema('30/60s'),
  })
  .superRefine(refuseInsecureProductionDefaults)
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
    SEED_USERS:
      c.SEED_USERS ?? (c.NODE_ENV === 'development' ? 'demo@example.com:demo-password' : undefined),
  }));

export type AuthConfig = z.output<typeof AuthConfigSchema>;
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
