import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ContractError, matchesAnySecret } from '@admitone/service-runtime';
import type { Request } from 'express';
import { AuthMetrics } from '../metrics/auth-metrics';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';

/**
 * The internal endpoints take `Authorization: Bearer <key>` with a key from
 * EXCHANGE_CLIENT_KEYS. Several keys are accepted at once so a key rotates
 * without downtime; every key is compared, in constant time.
 */
@Injectable()
export class ServiceCredentialGuard implements CanActivate {
  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly metrics: AuthMetrics,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (match && matchesAnySecret(match[1], this.config.EXCHANGE_CLIENT_KEYS)) return true;
    this.metrics.exchanges.inc({ result: 'invalid_client' });
    throw new ContractError('invalid_client');
  }
}
