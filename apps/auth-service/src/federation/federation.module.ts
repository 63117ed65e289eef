import { Module } from '@nestjs/common';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { SessionsModule } from '../sessions/sessions.module';
import { IssuerVerifier } from './issuer-verifier';
import { TokenExchangeController } from './token-exchange.controller';
import { TokenExchangeService } from './token-exchange.service';

/** `POST /auth/token-exchange`: sign-in through the OpenID providers of OIDC_ISSUERS. */
@Module({
  imports: [SessionsModule],
  controllers: [TokenExchangeController],
  providers: [
    {
      provide: IssuerVerifier,
      inject: [AUTH_CONFIG],
      useFactory: (config: AuthConfig) =>
        new IssuerVerifier(config.OIDC_ISSUERS, {
          clockSkewSeconds: config.OIDC_CLOCK_SKEW_SECONDS,
          jwksCooldownSeconds: config.OIDC_JWKS_COOLDOWN_SECONDS,
        }),
    },
    TokenExchangeService,
  ],
})
export class FederationModule {}
