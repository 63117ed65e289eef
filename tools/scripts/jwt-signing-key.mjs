// Prints a value for auth-service's JWT_SIGNING_KEYS (or the file behind
// JWT_SIGNING_KEYS_FILE): a JSON array of private ES256 (P-256) JWKs, each
// with a kid. The first key signs; every key listed verifies and is
// published in the JWKS (docs/runbook.md, "Rotating the JWT signing key").
//
//   node tools/scripts/jwt-signing-key.mjs                 a new array with one fresh key
//   node tools/scripts/jwt-signing-key.mjs --rotate FILE   a fresh key first, then FILE's keys
//   node tools/scripts/jwt-signing-key.mjs --kid NAME      choose the kid (default: date + random)
//
// The output is a secret: write it straight into your Secret store, not into git.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';

const { values } = parseArgs({
  options: { rotate: { type: 'string' }, kid: { type: 'string' } },
});

const kid =
  values.kid ?? `${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const fresh = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };

let keys = [fresh];
if (values.rotate) {
  const existing = JSON.parse(readFileSync(values.rotate, 'utf8'));
  if (!Array.isArray(existing)) throw new Error(`${values.rotate}: not a JSON array of JWKs`);
  if (existing.some((k) => k.kid === kid)) throw new Error(`kid ${kid} is already in use`);
  keys = [fresh, ...existing];
}
process.stdout.write(JSON.stringify(keys) + '\n');
