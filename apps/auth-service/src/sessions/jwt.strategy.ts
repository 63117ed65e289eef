import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { AccessTokenClaimsSchema } from '@admitone/auth-contracts';
import { ContractError } from '@admitone/service-runtime';
import { decodeProtectedHeader } from 'jose';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { SessionsService } from './sessions.service';
import { KeyRing } from '../keys/key-ring';
import { Principal } from './principal';

/**
 * Bearer access tokens, verified by passport-jwt against the key ring: the
 * `kid` picks the key, so tokens signed by any key still listed verify, and
 * none signed by a retired key does. A valid signature is not enough: the
 * session must still be active, so logout kills its access tokens at once.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: KeyRing,
    @Inject(AUTH_CONFIG) config: AuthConfig,
    private readonly sessions: SessionsService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: ['ES256'],
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ignoreExpiration: false,
      secretOrKeyProvider: (
        _req: unknown,
        rawJwt: string,
        done: (err: unknown, key?: string | Buffer) => void,
      ) => {
        try {
          const key = keys.verificationKey(decodeProtectedHeader(rawJwt).kid);
          if (!key) return done(new ContractError('invalid_token'));
          // The ring's KeyObject as it is: jsonwebtoken 9 (passport-jwt's verifier)
          // takes a KeyObject and runs the same checks (pinned ES256, the key's curve
          // against the alg); a PEM string was parsed again on every request. Its
          // typings predate KeyObject support.
          done(null, key as unknown as Buffer);
        } catch {
          done(new ContractError('invalid_token'));
        }
      },
    });
  }

  async validate(payload: unknown): Promise<Principal> {
    const claims = AccessTokenClaimsSchema.safeParse(payload);
    if (!claims.success) throw new ContractError('invalid_token');
    if (!(await this.sessions.isActive(claims.data.sid)))
      throw new ContractError('invalid_token', 'The session is no longer active.');
    return {
      user_id: claims.data.sub,
      session_id: claims.data.sid,
      roles: claims.data.roles,
      exp: claims.data.exp,
    };
  }
}
