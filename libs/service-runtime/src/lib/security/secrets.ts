import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A short, non-reversible tag for logs: which ticket, never the ticket. */
export function shortHash(value: string): string {
  return sha256Hex(value).slice(0, 12);
}

/** Constant-time equality for secrets of any length (both sides hashed first). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(a).digest(),
    createHash('sha256').update(b).digest(),
  );
}

/** Compares against every key, without stopping at the first match. */
export function matchesAnySecret(candidate: string, keys: readonly string[]): boolean {
  let matched = false;
  for (const key of keys) matched = secretsEqual(candidate, key) || matched;
  return matched;
}

/** 32 random bytes from the CSPRNG, base64url: tickets, refresh tokens, ids. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
