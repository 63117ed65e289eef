import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LoginRequest, RevocationReason, TokenResponse } from '@admitone/auth-contracts';
import { ContractError, RateLimiter, randomToken, sha256Hex } from '@admitone/service-runtime';
import { PinoLogger } from 'nestjs-pino';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { AuthMetrics } from '../metrics/auth-metrics';
import { LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS } from '../rate-limits/rate-limits.module';
import { KeyRing } from '../keys/key-ring';
import { toUser, UsersService } from '../users/users.service';
import { UserProfile, UserRecord } from '../users/user-store';
import { REVOCATION_PUBLISHER, RevocationPublisher } from './revocation-publisher';
import { SESSION_STORE, SessionStore } from './session-store';
import { openSuccessor, sealSuccessor } from './successor-seal';

@Injectable()
export class SessionsService {
  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(REVOCATION_PUBLISHER) private readonly publisher: RevocationPublisher,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(LOGIN_BY_ADDRESS) private readonly loginByAddress: RateLimiter,
    @Inject(LOGIN_BY_ACCOUNT) private readonly loginByAccount: RateLimiter,
    private readonly users: UsersService,
    private readonly keys: KeyRing,
    private readonly metrics: AuthMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('SessionsService');
  }

  /**
   * Login limits. Per client address, every attempt counts. Per account, only
   * FAILED attempts count, so nobody can lock an account out with attempts
   * that never reach the password check, and the owner's correct logins never
   * use up the allowance: a point is reserved before the check (so a
   * concurrent burst cannot exceed the limit) and the account's count is reset
   * by a successful login (as a failure streak ends). Once an account has
   * LOGIN_RATE_LIMIT failures in the window, every attempt on it is refused
   * before the check, the right password included, so a guess cannot be
   * confirmed while it is locked.
   */
  async login(request: LoginRequest, clientAddress: string): Promise<TokenResponse> {
    const refuseLimited = (retryAfterSeconds: number, scope: string): never => {
      this.metrics.logins.inc({ result: 'rate_limited' });
      this.logger.warn(
        { audit: 'login_rate_limited', remote_address: clientAddress, scope },
        'login rate limited',
      );
      throw new ContractError('rate_limited', undefined, { retryAfterSeconds });
    };
    const byAddress = await this.loginByAddress.consume(clientAddress);
    if (!byAddress.allowed) return refuseLimited(byAddress.retryAfterSeconds, 'address');
    const byAccount = await this.loginByAccount.consume(request.email);
    if (!byAccount.allowed) return refuseLimited(byAccount.retryAfterSeconds, 'account');
    const user = await this.users.verifyCredentials(request.email, request.password);
    if (!user) {
      this.metrics.logins.inc({ result: 'invalid_credentials' });
      this.logger.info({ audit: 'login_failed', remote_address: clientAddress }, 'login failed');
      throw new ContractError('invalid_credentials');
    }
    await this.loginByAccount.reset(request.email);
    this.metrics.logins.inc({ result: 'success' });
    return this.startSession(user, { audit: 'login' }, 'logged in');
  }

  /**
   * Rotates the refresh token. Within REFRESH_REUSE_INTERVAL_SECONDS of a
   * rotation, the same old token presented again (a second tab, a retry after
   * a timeout) gets the same successor back, opened from the seal that only
   * the old token's holder can open; later, or once that successor has been
   * used, reuse revokes the whole session.
   */
  async refresh(refreshToken: string): Promise<TokenResponse> {
    const newToken = randomToken();
    const interval = this.config.REFRESH_REUSE_INTERVAL_SECONDS;
    const rotated = await this.store.rotateRefresh(
      sha256Hex(refreshToken),
      sha256Hex(newToken),
      this.config.REFRESH_TOKEN_TTL_SECONDS,
      interval > 0
        ? { sealedSuccessor: sealSuccessor(refreshToken, newToken), seconds: interval }
        : undefined,
    );
    if (rotated.status === 'unknown') {
      this.metrics.refreshes.inc({ result: 'invalid_refresh_token' });
      throw new ContractError('invalid_refresh_token');
    }
    if (rotated.status === 'reused') {
      this.metrics.refreshes.inc({ result: 'refresh_token_reused' });
      this.logger.warn(
        { audit: 'refresh_token_reused', session_id: rotated.session_id },
        'rotated refresh token replayed; revoking session',
      );
      await this.revoke(rotated.session_id, 'refresh_token_reused');
      throw new ContractError('refresh_token_reused');
    }
    const successor =
      rotated.status === 'retried'
        ? openSuccessor(refreshToken, rotated.sealed_successor)
        : newToken;
    if (successor === null) {
      // Only a store holding a seal made under another token gets here.
      this.metrics.refreshes.inc({ result: 'invalid_refresh_token' });
      throw new ContractError('invalid_refresh_token');
    }
    const session = await this.store.get(rotated.session_id);
    const user = session && !session.revoked_at ? await this.users.findById(session.user_id) : null;
    if (!session || session.revoked_at || !user || user.disabled) {
      this.metrics.refreshes.inc({ result: 'invalid_refresh_token' });
      throw new ContractError('invalid_refresh_token');
    }
    this.metrics.refreshes.inc({ result: rotated.status === 'retried' ? 'retried' : 'success' });
    if (rotated.status === 'retried')
      this.logger.info(
        { audit: 'refresh_retried', session_id: session.id },
        'rotated refresh token presented again within the reuse interval; same successor',
      );
    return this.tokenResponse(user, session.id, successor);
  }

  /**
   * Revokes a session and tells every gateway to close its sockets. True when
   * this call revoked it; false when it was already revoked, expired or unknown.
   */
  async revoke(sessionId: string, reason: RevocationReason): Promise<boolean> {
    const session = await this.store.get(sessionId);
    const revokedAt = new Date().toISOString();
    const revoked = await this.store.revoke(sessionId, reason, revokedAt);
    if (!session || !revoked) return false;
    this.metrics.revocations.inc({ reason });
    this.logger.info(
      { audit: 'session_revoked', session_id: sessionId, user_id: session.user_id, reason },
      'session revoked',
    );
    await this.publisher
      .publish({
        type: 'session_revoked',
        session_id: sessionId,
        user_id: session.user_id,
        reason,
        revoked_at: revokedAt,
      })
      .catch((error: Error) =>
        this.logger.error(
          { err: error.message, session_id: sessionId },
          'could not publish revocation; gateways will catch it on re-check',
        ),
      );
    return true;
  }

  /** Revokes every live session of a user; the number this call revoked. */
  async revokeAllForUser(userId: string, reason: RevocationReason): Promise<number> {
    let revoked = 0;
    for (const id of await this.store.listByUser(userId))
      if (await this.revoke(id, reason)) revoked++;
    return revoked;
  }

  /**
   * Starts a session for a user who has proved who they are (a password, or
   * an identity provider's token): one session, its refresh token and an
   * access token, with one audit line.
   */
  async startSession(
    user: UserRecord,
    audit: Record<string, unknown>,
    message = 'session started',
  ): Promise<TokenResponse> {
    const sessionId = randomUUID();
    const refreshToken = randomToken();
    await this.store.create(
      { id: sessionId, user_id: user.id, created_at: new Date().toISOString() },
      sha256Hex(refreshToken),
      this.config.REFRESH_TOKEN_TTL_SECONDS,
    );
    this.logger.info({ ...audit, user_id: user.id, session_id: sessionId }, message);
    return this.tokenResponse(user, sessionId, refreshToken);
  }

  /** A session is active when it exists, is not revoked and its user is not disabled. */
  async isActive(sessionId: string): Promise<boolean> {
    const session = await this.store.get(sessionId);
    if (!session || session.revoked_at) return false;
    const user = await this.users.findProfileById(session.user_id);
    return !!user && !user.disabled;
  }

  /**
   * `isActive` for a session whose user is already known (a ticket names
   * both): the session and the user are read at once rather than one after
   * the other. The user's profile when the session exists, is not revoked,
   * belongs to that user and the user is not disabled; else null.
   */
  async activeUser(sessionId: string, userId: string): Promise<UserProfile | null> {
    const [session, user] = await Promise.all([
      this.store.get(sessionId),
      this.users.findProfileById(userId),
    ]);
    if (!session || session.revoked_at || session.user_id !== userId) return null;
    return user && !user.disabled ? user : null;
  }

  async inactiveOf(sessionIds: string[]): Promise<string[]> {
    const states = await Promise.all(
      sessionIds.map(async (id) => [id, await this.isActive(id)] as const),
    );
    return states.filter(([, active]) => !active).map(([id]) => id);
  }

  private async tokenResponse(
    user: UserRecord,
    sessionId: string,
    refreshToken: string,
  ): Promise<TokenResponse> {
    const ttl = this.config.ACCESS_TOKEN_TTL_SECONDS;
    const { token } = await this.keys.sign(
      {
        sub: user.id,
        sid: sessionId,
        roles: user.roles,
        iss: this.config.JWT_ISSUER,
        aud: this.config.JWT_AUDIENCE,
      },
      ttl,
    );
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: ttl,
      refresh_token: refreshToken,
      refresh_expires_in: this.config.REFRESH_TOKEN_TTL_SECONDS,
      user: toUser(user),
    };
  }
}
