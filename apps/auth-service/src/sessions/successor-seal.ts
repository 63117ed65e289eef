import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The refresh reuse interval must hand a retrying client the SAME successor
 * token it was given a moment ago, yet only hashes of refresh tokens may rest
 * in the store. So the successor is kept sealed (AES-256-GCM) for at most the
 * interval, under a key derived (HKDF-SHA256) from the PREDECESSOR token, the
 * one the client presents. Nothing the service stores or holds opens it: the
 * store has only sha256(predecessor), and HKDF with its own `info` is
 * independent of that hash. Whoever can open it already holds the
 * predecessor, which inside the interval entitles them to the successor
 * anyway; after the interval the sealed value is gone and reuse revokes.
 * No server secret is needed, so replicas need no shared key to agree.
 */
const INFO = Buffer.from('admitone refresh successor v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFrom(predecessor: string): Buffer {
  return Buffer.from(hkdfSync('sha256', predecessor, Buffer.alloc(0), INFO, 32));
}

export function sealSuccessor(predecessor: string, successor: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(predecessor), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The successor, or null when `sealed` was not sealed under this predecessor. */
export function openSuccessor(predecessor: string, sealed: string): string | null {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keyFrom(predecessor),
      raw.subarray(0, IV_BYTES),
    );
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
}
