import { DEFAULT_RUN_RETENTION_SECONDS } from '@admitone/agent-events';
import {
  LogLevelSchema,
  NodeEnvSchema,
  portSchema,
  RedisPrefixSchema,
} from '@admitone/service-runtime';
import { hostname } from 'node:os';
import { z } from 'zod';

const int = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const REDIS_URL_REQUIRED =
  'is required: a redis:// or rediss:// URL (the worker only runs against Redis)';

/** The reference agent worker's settings, validated once at start. */
export const WorkerConfigSchema = z.object({
  NODE_ENV: NodeEnvSchema,
  LOG_LEVEL: LogLevelSchema,
  /** Health and metrics only. */
  PORT: portSchema(8082),
  HOST: z.string().default('0.0.0.0'),
  // The message is set for a missing value too: zod's default ("expected string,
  // received undefined") does not tell an operator what to do.
  REDIS_URL: z.string({ error: REDIS_URL_REQUIRED }).regex(/^rediss?:\/\//, REDIS_URL_REQUIRED),
  REDIS_PREFIX: RedisPrefixSchema,
  WORKER_NAME: z.string().min(1).default(`${hostname()}-${process.pid}`),
  WORKER_CONCURRENCY: int(4, 1, 256),
  CLAIM_IDLE_MS: int(30_000, 200, 3_600_000),
  AGENT_STEP_DELAY_MS: int(150, 0, 60_000),
  RUN_RETENTION_SECONDS: int(DEFAULT_RUN_RETENTION_SECONDS, 1, 7 * 24 * 3600),
});
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
