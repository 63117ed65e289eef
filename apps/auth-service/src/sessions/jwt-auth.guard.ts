import { Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { ContractError, isStoreUnavailable } from '@admitone/service-runtime';

/** Any failure to authenticate is 401 `invalid_token`; a store outage stays a 503. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  override handleRequest<T>(err: unknown, user: T): T {
    if (err && isStoreUnavailable(err)) throw err;
    if (err instanceof ContractError) throw err;
    if (err || !user) throw new ContractError('invalid_token');
    return user;
  }
}
