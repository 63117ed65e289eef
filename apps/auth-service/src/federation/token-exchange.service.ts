import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  EmailSchema,
  ISSUED_TOKEN_TYPE,
  RoleSchema,
  SubjectTokenInvalidReason,
  TokenExchangeRequest,
  TokenExchangeResponse,
} from '@admitone/auth-contracts';
import { ContractError, RateLimiter } from '@admitone/service-runtime';
import { PinoLogger } from 'nestjs-pino';
import { AuthMetrics } from '../metrics/auth-metrics';
import { LOGIN_BY_ADDRESS } from '../rate-limits/rate-limits.module';
import { SessionsService } from '../sessions/sessions.service';
import { UsersService } from '../users/users.service';
import { IssuerVerifier } from './issuer-verifier';
import type { OidcIssuer } from './oidc-issuers';

/**
 * Sign-in through an existing OpenID provider (RFC 8693 token exchange):
 * the provider's token is verified (IssuerVerifier), mapped to an AdmitOne
 * account by `iss` + `sub`, and a session starts exactly as a password
 * login's would, so tickets, the exchange, logout and revocation are
 * unchanged. A disabled account stays refused whatever the provider says.
 */
@Injectable()
export class TokenExchangeService {
  constructor(
    private readonly verifier: IssuerVerifier,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    @Inject(LOGIN_BY_ADDRESS) private readonly byAddress: RateLimiter,
    private readonly metrics: AuthMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('TokenExchangeService');
  }

  async exchange(
    request: TokenExchangeRequest,
    clientAddress: string,
  ): Promise<TokenExchangeResponse> {
    const limit = await this.byAddress.consume(clientAddress);
    if (!limit.allowed) {
      this.metrics.tokenExchanges.inc({ result: 'rate_limited' });
      throw new ContractError('rate_limited', undefined, {
        retryAfterSeconds: limit.retryAfterSeconds,
      });
    }
    const verified = await this.verifier.verify(request.subject_token);
    if (!verified.ok) {
      if ('unavailable' in verified) {
        this.metrics.tokenExchanges.inc({ result: 'unavailable' });
        this.logger.warn({ err: verified.unavailable }, 'identity provider unreachable');
        throw new ContractError('unavailable', 'The identity provider cannot be reached; retry.', {
          retryAfterSeconds: 2,
        });
      }
      return this.refuse(verified.reason, clientAddress);
    }
    const { issuer, claims } = verified;
    const email = this.emailOf(issuer, claims);
    if (!email.ok) return this.refuse(email.reason, clientAddress, issuer.issuer);

    const identity = { issuer: issuer.issuer, subject: claims.sub };
    const found = await this.users.findOrCreateByIdentity(identity, {
      email: email.value,
      roles: rolesOf(issuer, claims),
    });
    if (!found) {
      this.metrics.tokenExchanges.inc({ result: 'identity_conflict' });
      this.logger.info(
        { audit: 'token_exchange_refused', reason: 'identity_conflict', issuer: issuer.issuer },
        'token exchange refused',
      );
      throw new ContractError('identity_conflict');
    }
    if (found.user.disabled) {
      this.metrics.tokenExchanges.inc({ result: 'user_disabled' });
      this.logger.info(
        { audit: 'token_exchange_refused', reason: 'user_disabled', user_id: found.user.id },
        'token exchange refused',
      );
      throw new ContractError('user_disabled');
    }
    this.metrics.tokenExchanges.inc({ result: found.created ? 'created' : 'ok' });
    const tokens = await this.sessions.startSession(found.user, {
      audit: 'token_exchanged',
      issuer: issuer.issuer,
      account_created: found.created,
      remote_address: clientAddress,
    });
    return { ...tokens, issued_token_type: ISSUED_TOKEN_TYPE };
  }

  private refuse(reason: SubjectTokenInvalidReason, clientAddress: string, issuer?: string): never {
    this.metrics.tokenExchanges.inc({ result: reason });
    this.logger.info(
      { audit: 'token_exchange_refused', reason, issuer, remote_address: clientAddress },
      'token exchange refused',
    );
    throw new ContractError('invalid_subject_token', `The token is not accepted (${reason}).`, {
      reason,
    });
  }

  /** The account's email: the mapped claim, verified when required, or a placeholder. */
  private emailOf(
    issuer: OidcIssuer,
    claims: Record<string, unknown> & { sub: string },
  ): { ok: true; value: string } | { ok: false; reason: 'missing_claim' | 'email_not_verified' } {
    if (issuer.email_claim === null) {
      const digest = createHash('sha256')
        .update(JSON.stringify([issuer.issuer, claims.sub]))
        .digest('hex')
        .slice(0, 24);
      return { ok: true, value: `${digest}@federated.invalid` };
    }
    const parsed = EmailSchema.safeParse(claims[issuer.email_claim]);
    if (!parsed.success) return { ok: false, reason: 'missing_claim' };
    const verified = claims['email_verified'];
    if (issuer.require_email_verified && verified !== true && verified !== 'true')
      return { ok: false, reason: 'email_not_verified' };
    return { ok: true, value: parsed.data };
  }
}

function rolesOf(issuer: OidcIssuer, claims: Record<string, unknown>): string[] {
  const granted = issuer.roles_claim ? claims[issuer.roles_claim] : undefined;
  const mapped = Array.isArray(granted)
    ? granted.filter((r): r is string => typeof r === 'string' && RoleSchema.safeParse(r).success)
    : [];
  return [...new Set([...issuer.default_roles, ...mapped])];
}
