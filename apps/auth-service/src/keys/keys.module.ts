import { Module } from '@nestjs/common';
import { createLogger } from '@admitone/service-runtime';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { JwksController } from './jwks.controller';
import { KeyRing } from './key-ring';

@Module({
  controllers: [JwksController],
  providers: [
    {
      provide: KeyRing,
      inject: [AUTH_CONFIG],
      useFactory: async (config: AuthConfig): Promise<KeyRing> => {
        if (config.JWT_SIGNING_KEYS) return KeyRing.fromJwks(config.JWT_SIGNING_KEYS);
        const ring = await KeyRing.generate();
        createLogger('auth-service', config.LOG_LEVEL).warn(
          { kid: ring.activeKid },
          'JWT_SIGNING_KEYS is unset: generated a signing key for this process only (development). Tokens die with it.',
        );
        return ring;
      },
    },
  ],
  exports: [KeyRing],
})
export class KeysModule {}
