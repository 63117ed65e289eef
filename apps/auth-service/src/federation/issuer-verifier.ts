import type { SubjectTokenInvalidReason } from '@admitone/auth-contracts';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  JWTPayload,
  jwtVerify,
} from 'jose';
import { z } from 'zod';
import type { OidcIssuer } from './oidc-issuers';

/**
 * Verifies a token from one of the configured OpenID providers, checklist
 * style: well formed; from a configured issuer; an allowed (asymmetric)
 * algorithm, so `alg: none` and HMAC never pass; a key from the issuer's
 * JWKS, found through its discovery document; a valid signature; `iss`,
 * `aud`, `exp`, `nbf` and `iat` within a small skew. jose's remote key set
 * refetches the JWKS when a token names an unknown `kid` (the provider
 * rotated its keys), at most once per cooldown, so a flood of made-up kids
 * cannot make us hammer the provider.
 */
export type Verification =
  | { ok: true; issuer: OidcIssuer; claims: JWTPayload & { sub: string } }
  | { ok: false; reason: SubjectTokenInvalidReason }
  | { ok: false; unavailable: string };

const DiscoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url() });

export interface VerifierOptions {
  clockSkewSeconds: number;
  jwksCooldownSeconds: number;
  /** Timeout of each discovery and JWKS fetch. */
  fetchTimeoutMs?: number;
}

export class IssuerVerifier {
  private readonly byIssuer: Map<string, OidcIssuer>;
  private readonly keySets = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();

  constructor(
    issuers: OidcIssuer[],
    private readonly options: VerifierOptions,
  ) {
    this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  }

  get configured(): boolean {
    return this.byIssuer.size > 0;
  }

  async verify(token: string): Promise<Verification> {
    let alg: string | undefined;
    let iss: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const issuer = iss ? this.byIssuer.get(iss.replace(/\/$/, '')) : undefined;
    if (!issuer) return { ok: false, reason: 'unknown_issuer' };
    if (!alg || !(issuer.algorithms as string[]).includes(alg))
      return { ok: false, reason: 'algorithm_not_allowed' };

    let keys: ReturnType<typeof createRemoteJWKSet>;
    try {
      keys = await this.keySetOf(issuer);
    } catch (error) {
      return { ok: false, unavailable: `discovery of ${issuer.issuer}: ${messageOf(error)}` };
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: iss,
        audience: issuer.audiences,
        algorithms: issuer.algorithms,
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      if (typeof payload.sub !== 'string' || !payload.sub)
        return { ok: false, reason: 'missing_claim' };
      return { ok: true, issuer, claims: payload as JWTPayload & { sub: string } };
    } catch (error) {
      return refusalOf(error);
    }
  }

  /** The issuer's key set, from the `jwks_uri` its discovery document names (fetched once). */
  private keySetOf(issuer: OidcIssuer): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let keySet = this.keySets.get(issuer.issuer);
    if (!keySet) {
      keySet = this.discover(issuer);
      this.keySets.set(issuer.issuer, keySet);
      // A failed discovery is retried by the next token, not cached.
      keySet.catch(() => this.keySets.delete(issuer.issuer));
    }
    return keySet;
  }

  private async discover(issuer: OidcIssuer): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const timeout = this.options.fetchTimeoutMs ?? 5000;
    const res = await fetch(`${issuer.issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(timeout),
      headers: { accept: 'application/json' },
    });
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    const document = DiscoverySchema.parse(await res.json());
    if (document.issuer.replace(/\/$/, '') !== issuer.issuer)
      throw new Error('the discovery document names another issuer');
    return createRemoteJWKSet(new URL(document.jwks_uri), {
      cooldownDuration: this.options.jwksCooldownSeconds * 1000,
      cacheMaxAge: 10 * 60 * 1000,
      timeoutDuration: timeout,
    });
  }
}

function refusalOf(error: unknown): Verification {
  if (error instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'aud':
        return { ok: false, reason: 'wrong_audience' };
      case 'iss':
        return { ok: false, reason: 'wrong_issuer' };
      case 'nbf':
      case 'iat':
        return { ok: false, reason: 'not_yet_valid' };
      default:
        return { ok: false, reason: 'missing_claim' };
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return { ok: false, reason: 'bad_signature' };
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return { ok: false, reason: 'unknown_key' };
  if (error instanceof errors.JOSEAlgNotAllowed)
    return { ok: false, reason: 'algorithm_not_allowed' };
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  )
    return { ok: false, reason: 'malformed' };
  // The JWKS could not be fetched (timeout, refused, bad document): not the client's fault.
  return { ok: false, unavailable: messageOf(error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
