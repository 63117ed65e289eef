import { AccessTokenClaimsSchema, JwksSchema } from '@admitone/auth-contracts';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { KeyRing } from './key-ring';

const claims = {
  sub: 'user-1',
  sid: 'session-1',
  roles: ['user'],
  iss: 'admitone-auth',
  aud: 'admitone',
};

async function verify(ring: KeyRing, token: string) {
  const key = ring.verificationKey(decodeProtectedHeader(token).kid);
  if (!key) throw new Error('no verification key for this token');
  return jwtVerify(token, key, {
    algorithms: ['ES256'],
    issuer: claims.iss,
    audience: claims.aud,
  });
}

function rejectionOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: Error) => error.message,
  );
}

describe('KeyRing', () => {
  it('signs an ES256 token that verifies with the verification key for its kid', async () => {
    const ring = await KeyRing.fromJwks(JSON.stringify([await KeyRing.generatePrivateJwk('k1')]));
    const now = Date.now();
    const { token, exp } = await ring.sign(claims, 900, now);
    const { payload, protectedHeader } = await verify(ring, token);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: 'k1', typ: 'JWT' });
    expect(AccessTokenClaimsSchema.parse(payload)).toMatchObject({
      ...claims,
      iat: Math.floor(now / 1000),
      exp,
    });
    expect(exp).toBe(Math.floor(now / 1000) + 900);
  });

  it('signs with the first key and verifies tokens of every key still listed', async () => {
    const [oldJwk, newJwk] = await Promise.all([
      KeyRing.generatePrivateJwk('old'),
      KeyRing.generatePrivateJwk('new'),
    ]);
    const before = await KeyRing.fromJwks(JSON.stringify([oldJwk]));
    const during = await KeyRing.fromJwks(JSON.stringify([newJwk, oldJwk]));
    const oldToken = (await before.sign(claims, 900)).token;
    const newToken = (await during.sign(claims, 900)).token;
    expect(during.activeKid).toBe('new');
    expect(decodeProtectedHeader(newToken).kid).toBe('new');
    await expect(verify(during, oldToken)).resolves.toBeDefined();
    await expect(verify(during, newToken)).resolves.toBeDefined();
  });

  it('has no verification key for a token signed by a key no longer in the ring', async () => {
    const [oldJwk, newJwk] = await Promise.all([
      KeyRing.generatePrivateJwk('retired'),
      KeyRing.generatePrivateJwk('current'),
    ]);
    const before = await KeyRing.fromJwks(JSON.stringify([oldJwk]));
    const after = await KeyRing.fromJwks(JSON.stringify([newJwk]));
    const { token } = await before.sign(claims, 900);
    expect(after.verificationKey(decodeProtectedHeader(token).kid)).toBeUndefined();
    expect(after.verificationKey(undefined)).toBeUndefined();
  });

  it('does not verify a token whose signature was made by another key under a listed kid', async () => {
    const genuine = await KeyRing.fromJwks(
      JSON.stringify([await KeyRing.generatePrivateJwk('k1')]),
    );
    const forger = await KeyRing.fromJwks(JSON.stringify([await KeyRing.generatePrivateJwk('k1')]));
    const { token } = await forger.sign(claims, 900);
    await expect(verify(genuine, token)).rejects.toThrow(/signature/);
  });

  it('publishes the public part of every key, never the private d', async () => {
    const jwks = [await KeyRing.generatePrivateJwk('a'), await KeyRing.generatePrivateJwk('b')];
    const ring = await KeyRing.fromJwks(JSON.stringify(jwks));
    const published = ring.jwks();
    expect(JwksSchema.parse(published)).toEqual(published);
    expect(published.keys.map((k) => k.kid)).toEqual(['a', 'b']);
    for (const [i, key] of published.keys.entries()) {
      expect(key).toEqual({
        kty: 'EC',
        crv: 'P-256',
        x: jwks[i].x,
        y: jwks[i].y,
        kid: jwks[i].kid,
        alg: 'ES256',
        use: 'sig',
      });
      expect(key).not.toHaveProperty('d');
      expect(JSON.stringify(key)).not.toContain(jwks[i].d);
    }
  });

  it('generates a working development key', async () => {
    const ring = await KeyRing.generate();
    expect(ring.activeKid).toMatch(/^dev-/);
    const { token } = await ring.sign(claims, 60);
    await expect(verify(ring, token)).resolves.toBeDefined();
  });

  describe('fromJwks', () => {
    it('refuses text that is not JSON, naming JWT_SIGNING_KEYS and not echoing it', async () => {
      const message = await rejectionOf(KeyRing.fromJwks('{"d":"s3cr3t-material"'));
      expect(message).toBe('JWT_SIGNING_KEYS: not valid JSON');
    });

    it('refuses two keys with one kid', async () => {
      const [a, b] = [await KeyRing.generatePrivateJwk('k'), await KeyRing.generatePrivateJwk('k')];
      const message = await rejectionOf(KeyRing.fromJwks(JSON.stringify([a, b])));
      expect(message).toBe('JWT_SIGNING_KEYS: kids must be unique');
      expect(message).not.toContain(a.d);
    });

    it('refuses a key on a curve other than P-256 without echoing it', async () => {
      const { privateKey } = await generateKeyPair('ES384', { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), kid: 'p384' };
      const message = await rejectionOf(KeyRing.fromJwks(JSON.stringify([jwk])));
      expect(message).toMatch(/^JWT_SIGNING_KEYS: .*P-256/);
      for (const material of [jwk.d, jwk.x, jwk.y]) expect(message).not.toContain(material);
    });

    it('refuses a public key, an empty list and a key without a kid', async () => {
      const { d: _d, ...publicOnly } = await KeyRing.generatePrivateJwk('pub');
      const { kid: _kid, ...noKid } = await KeyRing.generatePrivateJwk('x');
      for (const value of [[publicOnly], [], [noKid], {}]) {
        expect(await rejectionOf(KeyRing.fromJwks(JSON.stringify(value)))).toMatch(
          /^JWT_SIGNING_KEYS: /,
        );
      }
    });

    it('refuses a key whose point is not on P-256, naming JWT_SIGNING_KEYS and not echoing it', async () => {
      const jwk = await KeyRing.generatePrivateJwk('broken');
      const broken = { ...jwk, x: jwk.y };
      const message = await rejectionOf(KeyRing.fromJwks(JSON.stringify([broken])));
      expect(message).toMatch(/^JWT_SIGNING_KEYS: /);
      for (const material of [jwk.d, jwk.x, jwk.y]) expect(message).not.toContain(material);
    });

    it('refuses a private key that does not belong to its public part', async () => {
      const [a, b] = [await KeyRing.generatePrivateJwk('a'), await KeyRing.generatePrivateJwk('b')];
      const message = await rejectionOf(
        KeyRing.fromJwks(JSON.stringify([a, { ...a, kid: 'mixed', d: b.d }])),
      );
      expect(message).toBe(
        'JWT_SIGNING_KEYS: key 2 (kid "mixed") is not a valid P-256 private key',
      );
      for (const material of [a.d, b.d, a.x, a.y]) expect(message).not.toContain(material);
    });
  });
});
