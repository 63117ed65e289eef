import { z } from 'zod';

/**
 * Configuration is read from the environment once, at start, through a zod
 * schema; nothing reads process.env afterwards. A bad value stops the process
 * with a message naming the variable (never echoing its value: it may be a
 * secret).
 */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      'Invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.length ? String(issue.path[0]) : '(environment)',
      problem: issue.message,
    })),
  );
}

export const NodeEnvSchema = z.enum(['development', 'test', 'production']).default('development');
export type NodeEnv = z.infer<typeof NodeEnvSchema>;

export const LogLevelSchema = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

export const portSchema = (defaultPort: number) =>
  z.coerce.number().int().min(0).max(65535).default(defaultPort);

export const RedisUrlSchema = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined))
  .pipe(
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
  );

export const RedisPrefixSchema = z
  .string()
  .regex(/^[A-Za-z0-9:_.-]{0,64}$/, 'letters, digits and :_.- only, at most 64')
  .default('admitone:');

/** `https://app.example.com` from any spelling of it; throws on a non-origin. */
export function normalizeOrigin(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  if (url.pathname !== '/' || url.search || url.hash || url.username)
    throw new Error('not an origin');
  return url.origin;
}

/** `ALLOWED_ORIGINS`: a comma list of origins, or `*` (refused in production). */
export const allowedOriginsSchema = (defaults: string) =>
  z
    .string()
    .default(defaults)
    .transform((raw, ctx) => {
      const origins: string[] = [];
      for (const item of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (item === '*') {
          origins.push('*');
          continue;
        }
        try {
          origins.push(normalizeOrigin(item));
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: `"${item.slice(0, 80)}" is not an origin like https://app.example.com`,
          });
          return z.NEVER;
        }
      }
      return origins;
    });

export interface RateLimitSpec {
  points: number;
  durationSeconds: number;
}

/** A rate limit written `COUNT/SECONDSs`, e.g. `10/60s`. */
export const rateLimitSchema = (defaults: string) =>
  z
    .string()
    .default(defaults)
    .transform((raw, ctx): RateLimitSpec => {
      const match = /^\s*(\d{1,9})\s*\/\s*(\d{1,7})s\s*$/.exec(raw);
      const points = match ? Number(match[1]) : 0;
      const durationSeconds = match ? Number(match[2]) : 0;
      if (!match || points < 1 || durationSeconds < 1) {
        ctx.addIssue({ code: 'custom', message: 'must be COUNT/SECONDSs, e.g. 10/60s' });
        return z.NEVER;
      }
      return { points, durationSeconds };
    });

export const commaListSchema = z
  .string()
  .optional()
  .transform((raw) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/**
 * Production refuses what is only safe on a laptop: no Redis (in-memory stores
 * hold for one instance only) and `*` origins. Each service adds its own.
 */
export function refuseInsecureProductionDefaults(
  config: { NODE_ENV: NodeEnv; REDIS_URL?: string; ALLOWED_ORIGINS: string[] },
  ctx: z.RefinementCtx,
): void {
  if (config.NODE_ENV !== 'production') return;
  if (!config.REDIS_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_URL'],
      message: 'is required in production (in-memory stores hold for one instance only)',
    });
  }
  if (config.ALLOWED_ORIGINS.includes('*')) {
    ctx.addIssue({
      code: 'custom',
      path: ['ALLOWED_ORIGINS'],
      message: '"*" is refused in production; list the origins',
    });
  } else if (config.ALLOWED_ORIGINS.some((o) => o.startsWith('http://'))) {
    // Also catches the development default (http://localhost:4200) left in place.
    ctx.addIssue({
      code: 'custom',
      path: ['ALLOWED_ORIGINS'],
      message: 'plain http origins are refused in production; list https origins',
    });
  }
}
