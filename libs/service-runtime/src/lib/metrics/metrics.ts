import {
  Controller,
  DynamicModule,
  Get,
  Global,
  Inject,
  Injectable,
  MiddlewareConsumer,
  Module,
  NestMiddleware,
  Optional,
  Res,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type Redis from 'ioredis';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';
import { REDIS } from '../redis/redis.module';

export const SERVICE_NAME = Symbol('SERVICE_NAME');

/**
 * One Prometheus registry per service instance (not prom-client's global one,
 * so two instances in one test process do not collide). Labels never carry a
 * secret or an unbounded value: routes are the matched pattern, not the URL.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    @Inject(SERVICE_NAME) service: string,
    @Optional() @Inject(REDIS) redis?: Redis | null,
  ) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = this.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    if (redis) this.watchRedis(redis);
  }

  /**
   * The service's Redis client (REDIS_URL set): `redis_up` is read at scrape
   * time (1 while the client is connected and ready), `redis_errors_total`
   * counts the client's connection errors (one per failed reconnect attempt).
   */
  private watchRedis(redis: Redis): void {
    new Gauge({
      name: 'redis_up',
      help: "1 while this service's Redis client is connected and ready, else 0",
      registers: [this.registry],
      collect() {
        this.set(redis.status === 'ready' ? 1 : 0);
      },
    });
    const errors = this.counter({
      name: 'redis_errors_total',
      help: "Connection errors of this service's Redis client",
    });
    redis.on('error', () => errors.inc());
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return new Histogram({ ...config, registers: [this.registry] });
  }
}

@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('metrics')
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    // The service-to-service API has its own metrics (the exchange's counter
    // and histogram); a timer and a listener per call there buy nothing.
    if (req.originalUrl.startsWith('/internal/')) return next();
    const end = this.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  }
}

@Global()
@Module({})
export class MetricsModule {
  static forService(service: string): DynamicModule {
    return {
      module: MetricsModule,
      providers: [{ provide: SERVICE_NAME, useValue: service }, Metrics, HttpMetricsMiddleware],
      controllers: [MetricsController],
      exports: [Metrics],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
