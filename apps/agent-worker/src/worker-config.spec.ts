import { hostname } from 'node:os';
import { ConfigError, loadConfig } from '@admitone/service-runtime';
import { WorkerConfigSchema } from './worker-config';

const REDIS_URL = 'redis://127.0.0.1:6379';

function problemsOf(env: Record<string, string | undefined>) {
  try {
    loadConfig(WorkerConfigSchema, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { message: (error as Error).message, problems: (error as ConfigError).problems };
  }
  throw new Error('expected a ConfigError');
}

describe('WorkerConfigSchema', () => {
  it.each([
    ['missing', {}],
    ['empty', { REDIS_URL: '' }],
    ['not a redis URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
  ])('requires REDIS_URL (%s) and says so by name', (_, env) => {
    const { message, problems } = problemsOf(env);
    expect(problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
    expect(message).toMatch(/^Invalid configuration:\n {2}REDIS_URL: .*required/);
  });

  it('applies defaults', () => {
    expect(loadConfig(WorkerConfigSchema, { REDIS_URL })).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      PORT: 8082,
      HOST: '0.0.0.0',
      REDIS_URL,
      REDIS_PREFIX: 'admitone:',
      WORKER_NAME: `${hostname()}-${process.pid}`,
      WORKER_CONCURRENCY: 4,
      CLAIM_IDLE_MS: 30_000,
      AGENT_STEP_DELAY_MS: 150,
      RUN_RETENTION_SECONDS: 3600,
    });
  });

  it('takes every setting from the environment, coercing numbers', () => {
    const config = loadConfig(WorkerConfigSchema, {
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_PREFIX: 'staging:',
      PORT: '9000',
      WORKER_NAME: 'worker-a',
      WORKER_CONCURRENCY: '8',
      CLAIM_IDLE_MS: '1000',
      AGENT_STEP_DELAY_MS: '0',
      RUN_RETENTION_SECONDS: '600',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      REDIS_URL: 'rediss://cache.internal:6380',
      REDIS_PREFIX: 'staging:',
      PORT: 9000,
      WORKER_NAME: 'worker-a',
      WORKER_CONCURRENCY: 8,
      CLAIM_IDLE_MS: 1000,
      AGENT_STEP_DELAY_MS: 0,
      RUN_RETENTION_SECONDS: 600,
      LOG_LEVEL: 'warn',
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['REDIS_PREFIX', 'has spaces'],
    ['WORKER_NAME', ''],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_CONCURRENCY', '2.5'],
    ['CLAIM_IDLE_MS', '50'],
    ['CLAIM_IDLE_MS', 'soon'],
    ['AGENT_STEP_DELAY_MS', '-1'],
    ['RUN_RETENTION_SECONDS', '0'],
  ])('stops with a message naming %s for %j', (variable, value) => {
    const { message, problems } = problemsOf({ REDIS_URL, [variable]: value });
    expect(problems.map((p) => p.variable)).toEqual([variable]);
    expect(message).toMatch(new RegExp(`^Invalid configuration:\\n {2}${variable}: `));
  });

  it('never echoes a rejected REDIS_URL, which may hold a password', () => {
    const { message } = problemsOf({ REDIS_URL: 'http://user:hunter2@cache:6379' });
    expect(message).not.toContain('hunter2');
  });
});
