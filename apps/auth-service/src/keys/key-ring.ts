import {
  createPrivateKey,
  createPublicKey,
  KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { AccessTokenClaims, Jwks } from '@admitone/auth-contracts';
import { exportJWK, generateKeyPair, importJWK, JWK, KeyLike, SignJWT } from 'jose';
import { z } from 'zod';

/**
 * The keys that sign access tokens. `JWT_SIGNING_KEYS` is a JSON array of
 * private ES256 JWKs, each with a `kid`: the first signs, every one listed
 * verifies and is published in the JWKS. Rotation without downtime: put the
 * new key first, wait one access-token lifetime, then drop the old one.
 */
const PrivateJwkSchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  kid: z.string().min(1),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  alg: z.literal('ES256').optional(),
});
export const SigningKeysSchema = z.array(PrivateJwkSchema).min(1);

interface RingKey {
  kid: string;
  privateKey: KeyLike | Uint8Array;
  publicJwk: Jwks['keys'][number];
  verifyKey: KeyObject;
}

export class KeyRing {
  private constructor(private readonly keys: RingKey[]) {}

  static async fromJwks(json: string): Promise<KeyRing> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error('JWT_SIGNING_KEYS: not valid JSON');
    }
    const result = SigningKeysSchema.safeParse(parsed);
    if (!result.success)
      throw new Error(
        'JWT_SIGNING_KEYS: expected a JSON array of private ES256 (P-256) JWKs, each with a kid',
      );
    const kids = new Set(result.data.map((k) => k.kid));
    if (kids.size !== result.data.length) throw new Error('JWT_SIGNING_KEYS: kids must be unique');
    return new KeyRing(
      await Promise.all(
        result.data.map((jwk, index) =>
          KeyRing.ringKey(jwk).catch(() => {
            // jose/node errors are generic; name the variable and the key, never its material.
            throw new Error(
              `JWT_SIGNING_KEYS: key ${index + 1} (kid ${JSON.stringify(jwk.kid)}) is not a valid P-256 private key`,
            );
          }),
        ),
      ),
    );
  }

  /** A fresh ES256 key: for development only (tokens die with the process). */
  static async generate(): Promise<KeyRing> {
    const jwk = await KeyRing.generatePrivateJwk(`dev-${randomUUID().slice(0, 8)}`);
    return new KeyRing([await KeyRing.ringKey(jwk)]);
  }

  static async generatePrivateJwk(kid: string): Promise<z.infer<typeof PrivateJwkSchema>> {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    return PrivateJwkSchema.parse({ ...jwk, kid, alg: 'ES256' });
  }

  private static async ringKey(jwk: z.infer<typeof PrivateJwkSchema>): Promise<RingKey> {
    const { d: _d, ...pub } = jwk;
    const publicJwk = {
      kty: 'EC' as const,
      crv: 'P-256',
      x: pub.x,
      y: pub.y,
      kid: jwk.kid,
      alg: 'ES256' as const,
      use: 'sig' as const,
    };
    const verifyKey = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: pub.x, y: pub.y },
      format: 'jwk',
    });
    // A `d` that does not belong to x/y imports fine but signs tokens nothing verifies.
    const probe = Buffer.from('admitone key check');
    const probeSignature = sign('sha256', probe, createPrivateKey({ key: jwk, format: 'jwk' }));
    if (!verify('sha256', probe, verifyKey, probeSignature))
      throw new Error('the private key does not match its public part');
    return {
      kid: jwk.kid,
      privateKey: await importJWK({ ...jwk, alg: 'ES256' } as JWK, 'ES256'),
      publicJwk,
      verifyKey,
    };
  }

  get activeKid(): string {
    return this.keys[0].kid;
  }

  jwks(): Jwks {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** The public key for a `kid` still listed, for passport-jwt to verify with. */
  verificationKey(kid: unknown): KeyObject | undefined {
    return this.keys.find((k) => k.kid === kid)?.verifyKey;
  }

  async sign(
    claims: Omit<AccessTokenClaims, 'iat' | 'exp' | 'jti'>,
    ttlSeconds: number,
    now = Date.now(),
  ): Promise<{ token: string; exp: number }> {
    const active = this.keys[0];
    const iat = Math.floor(now / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ sid: claims.sid, roles: claims.roles })
      .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(active.privateKey);
    return { token, exp };
  }
}
