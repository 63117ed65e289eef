import { z } from 'zod';
import { RoleSchema } from './users';

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const ACCESS_TOKEN_ALGORITHMS = ['ES256', 'EdDSA'] as const;

/** Claims of an access token (a JWS with a `kid` header). */
export const AccessTokenClaimsSchema = z.object({
  sub: z.string().min(1),
  sid: z.string().min(1),
  roles: z.array(RoleSchema),
  iat: z.number().int(),
  exp: z.number().int(),
  iss: z.string().min(1),
  aud: z.union([z.string(), z.array(z.string())]),
  jti: z.string().min(1),
});
export type AccessTokenClaims = z.infer<typeof AccessTokenClaimsSchema>;

/** `GET /.well-known/jwks.json`: public keys only. */
export const JwkSchema = z.object({
  kty: z.enum(['EC', 'OKP']),
  kid: z.string().min(1),
  alg: z.enum(ACCESS_TOKEN_ALGORITHMS),
  use: z.literal('sig'),
  crv: z.string(),
  x: z.string(),
  y: z.string().optional(),
});
export const JwksSchema = z.object({ keys: z.array(JwkSchema) });
export type Jwks = z.infer<typeof JwksSchema>;
