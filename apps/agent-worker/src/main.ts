import './tracing';
import { createServer } from 'node:http';
import { redisRunContext, RedisRequestConsumer, runReferenceAgent } from '@admitone/agent-runtime';
import {
  ConfigError,
  connectRedis,
  createLogger,
  createRedisClient,
  isRedisUp,
  loadConfig,
} from '@admitone/service-runtime';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { traceRun } from './run-tracing';
import { WorkerConfig, WorkerConfigSchema } from './worker-config';

/**
 * The reference agent worker: consumes chat requests from the bus and emits
 * the run's events. Real deployments replace it with their own agents that
 * speak the same bus contract (BUS_KEYS in @admitone/agent-events).
 */
async function main(): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadConfig(WorkerConfigSchema);
  } catch (error) {
    createLogger('agent-worker').fatal(
      { problems: (error as ConfigError).problems },
      (error as Error).message,
    );
    process.exit(1);
  }
  const logger = createLogger('agent-worker', config.LOG_LEVEL).child({
    worker: config.WORKER_NAME,
  });
  const redis = createRedisClient(config.REDIS_URL, 'agent-worker', logger);
  await connectRedis(redis, logger);

  const registry = new Registry();
  registry.setDefaultLabels({ service: 'agent-worker' });
  collectDefaultMetrics({ register: registry });
  const runs = new Counter({
    name: 'agent_runs_total',
    help: 'Runs handled, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const consumer = new RedisRequestConsumer(
    redis,
    config.REDIS_URL,
    config.REDIS_PREFIX,
    {
      consumerName: config.WORKER_NAME,
      concurrency: config.WORKER_CONCURRENCY,
      claimIdleMs: config.CLAIM_IDLE_MS,
    },
    logger,
  );
  await consumer.start((request) =>
    traceRun(request, async () => {
      const log = logger.child({
        run_id: request.run_id,
        user_id: request.user_id,
        request_id: request.request_id,
      });
      log.info('run started');
      try {
        await runReferenceAgent(
          request,
          redisRunContext(redis, config.REDIS_PREFIX, request, config.RUN_RETENTION_SECONDS),
          config.AGENT_STEP_DELAY_MS,
        );
        runs.inc({ outcome: 'handled' });
        log.info('run finished');
      } catch (error) {
        runs.inc({ outcome: 'error' });
        throw error;
      }
    }),
  );

  let stopping = false;
  const server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/health/live') return send(200, JSON.stringify({ status: 'ok', checks: {} }));
    if (req.url === '/health/ready') {
      void isRedisUp(redis).then((up) => {
        const ok = up && !stopping;
        send(
          ok ? 200 : 503,
          JSON.stringify({
            status: ok ? 'ok' : 'unavailable',
            checks: { redis: up ? 'up' : 'down', ...(stopping ? { draining: 'down' } : {}) },
          }),
        );
      });
      return;
    }
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => send(200, text, registry.contentType));
      return;
    }
    send(404, JSON.stringify({ error: 'not_found', message: 'No such resource.', request_id: '' }));
  });
  server.listen(config.PORT, config.HOST, () =>
    logger.info(
      { port: config.PORT, concurrency: config.WORKER_CONCURRENCY },
      'agent-worker consuming requests',
    ),
  );

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing runs in hand');
    await consumer.stop();
    server.close();
    await redis.quit().catch(() => redis.disconnect());
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger('agent-worker').fatal(
    { err: error instanceof Error ? error.message : String(error) },
    'agent-worker failed to start',
  );
  process.exit(1);
});
