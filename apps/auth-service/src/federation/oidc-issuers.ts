import { ROLE_PATTERN } from '@admitone/auth-contracts';
import { z } from 'zod';

/**
 * `OIDC_ISSUERS`: the OpenID providers whose tokens auth-service accepts at
 * `POST /auth/token-exchange`, as a JSON array. Each entry pins what a token
 * must be (issuer, audiences, algorithms) and how its claims map to an
 * AdmitOne account. Accounts are found by `iss` + `sub`, never by email.
 */
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export const OidcIssuerSchema = z
  .object({
    /** Exactly the `iss` of its tokens and of its discovery document. */
    issuer: z.url(),
    /** The `aud` values accepted (your client ids at the provider); at least one. */
    audiences: z.array(z.string().min(1)).min(1),
    /** Signature algorithms accepted; symmetric ones and `none` are never accepted. */
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
    /** The claim that holds the email (null: the provider gives none; a placeholder is used). */
    email_claim: z.string().min(1).nullable().default('email'),
    /** Refuse an email the provider has not verified (`email_verified` must be true). */
    require_email_verified: z.boolean().default(true),
    /** A claim holding an array of role names to grant (names outside a-z0-9_- are dropped). */
    roles_claim: z.string().min(1).optional(),
    /** Roles every account from this issuer gets. */
    default_roles: z.array(z.string().regex(ROLE_PATTERN)).default(['user']),
  })
  .strict();
export type OidcIssuer = z.output<typeof OidcIssuerSchema>;

export const OidcIssuersSchema = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (!raw?.trim()) return [] as OidcIssuer[];
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of issuers' });
      return z.NEVER;
    }
    const result = z.array(OidcIssuerSchema).safeParse(parsed);
    if (!result.success) {
      const first = result.error.issues[0];
      ctx.addIssue({
        code: 'custom',
        message: `issuer ${first.path.join('.')}: ${first.message}`,
      });
      return z.NEVER;
    }
    const issuers = result.data.map((i) => ({ ...i, issuer: i.issuer.replace(/\/$/, '') }));
    if (new Set(issuers.map((i) => i.issuer)).size !== issuers.length) {
      ctx.addIssue({ code: 'custom', message: 'lists an issuer twice' });
      return z.NEVER;
    }
    return issuers;
  });
