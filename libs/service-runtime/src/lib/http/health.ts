import {
  Controller,
  DynamicModule,
  Get,
  Global,
  Inject,
  Injectable,
  InjectionToken,
  Module,
  ModuleMetadata,
  Res,
} from '@nestjs/common';
import type { HealthResponse } from '@admitone/auth-contracts';
import type { Response } from 'express';
import type Redis from 'ioredis';
import { isRedisUp } from '../redis/redis-client';
import { REDIS } from '../redis/redis.module';

export interface HealthCheck {
  name: string;
  isUp(): Promise<boolean>;
}
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

/** Flipped on SIGTERM so load balancers stop sending work before we close. */
@Injectable()
export class Readiness {
  draining = false;
}

async function withTimeout(check: HealthCheck, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([check.isUp().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

@Controller('health')
export class HealthController {
  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
    private readonly readiness: Readiness,
  ) {}

  @Get('live')
  live(): HealthResponse {
    return { status: 'ok', checks: {} };
  }

  @Get('ready')
  async ready(@Res() res: Response): Promise<void> {
    const results = await Promise.all(
      this.checks.map(async (c) => [c.name, await withTimeout(c, 1000)] as const),
    );
    const checks: HealthResponse['checks'] = Object.fromEntries(
      results.map(([n, up]) => [n, up ? 'up' : 'down']),
    );
    if (this.readiness.draining) checks['draining'] = 'down';
    const ok = Object.values(checks).every((v) => v === 'up');
    const body: HealthResponse = { status: ok ? 'ok' : 'unavailable', checks };
    res.status(ok ? 200 : 503).json(body);
  }
}

/**
 * Liveness, readiness and the draining flag for a service. Ready when Redis
 * (when configured) answers, every extra check passes, and not draining.
 */
@Global()
@Module({})
export class HealthModule {
  static forRoot<D extends unknown[]>(
    options: {
      imports?: ModuleMetadata['imports'];
      inject?: InjectionToken[];
      checks?: (...deps: D) => HealthCheck[];
    } = {},
  ): DynamicModule {
    return {
      module: HealthModule,
      imports: options.imports ?? [],
      controllers: [HealthController],
      providers: [
        Readiness,
        {
          provide: HEALTH_CHECKS,
          inject: [REDIS, ...(options.inject ?? [])],
          useFactory: (redis: Redis | null, ...deps: D): HealthCheck[] => [
            ...(options.checks?.(...deps) ?? []),
            ...(redis ? [{ name: 'redis', isUp: () => isRedisUp(redis) }] : []),
          ],
        },
      ],
      exports: [Readiness],
    };
  }
}
