import {
  ErrorBodySchema,
  ISSUED_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenExchangeResponseSchema,
} from '@admitone/auth-contracts';
import { connectTestRedis, createTestDatabase, TestDatabase, TestRedis } from '@admitone/testing';
import { importJWK, SignJWT } from 'jose';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  startWorker,
} from '../support/agent-client';
import { issueTicket, postJson } from '../support/auth-client';
import { AuthStack, startAuth, startGateway } from '../support/gateway-stack';
import { OidcProviderProcess, REDIRECT_URI, signingJwk } from '../support/oidc';
import { usersCli } from '../support/faults';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Sign-in through existing OpenID providers (POST /auth/token-exchange),
 * against two real oidc-provider processes with keys of their own. A good
 * ID token becomes an AdmitOne session that gets a ticket, connects and
 * chats; every bad token is refused with 401 invalid_subject_token and the
 * reason that names the failed check.
 */
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

describe('sign-in through an OpenID provider', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let idpA: OidcProviderProcess;
  let idpB: OidcProviderProcess;
  let keysA: Record<string, unknown>[];
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sockets: AgentSocket[] = [];

  const clientA = {
    client_id: 'admitone-web',
    client_secret: 'a'.repeat(40),
    redirect_uris: [REDIRECT_URI],
  };
  const otherClient = {
    client_id: 'another-app',
    client_secret: 'b'.repeat(40),
    redirect_uris: [REDIRECT_URI],
  };
  const clientB = {
    client_id: 'admitone-b',
    client_secret: 'c'.repeat(40),
    redirect_uris: [REDIRECT_URI],
    id_token_signed_response_alg: 'ES256' as const,
  };

  beforeAll(async () => {
    keysA = [await signingJwk('a-1')];
    [redis, database, idpA, idpB] = await Promise.all([
      connectTestRedis(),
      createTestDatabase(),
      OidcProviderProcess.start({ clients: [clientA, otherClient], keys: keysA }),
      signingJwk('b-1', 'ES256').then((key) =>
        // B's accounts share the seeded users' email domain, for the conflict case.
        OidcProviderProcess.start({ clients: [clientB], keys: [key], emailDomain: 'example.com' }),
      ),
    ]);
    stack = await startAuth(redis, {
      DATABASE_URL: database.url,
      OIDC_ISSUERS: JSON.stringify([
        { issuer: idpA.issuer, audiences: [clientA.client_id], algorithms: ['RS256'] },
        { issuer: idpB.issuer, audiences: [clientB.client_id], algorithms: ['ES256'] },
      ]),
      OIDC_CLOCK_SKEW_SECONDS: '0',
      OIDC_JWKS_COOLDOWN_SECONDS: '0',
    });
    [gateway] = await Promise.all([
      startGateway(redis, stack),
      startWorker(redis, { AGENT_STEP_DELAY_MS: '10' }),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await Promise.all([idpA?.stop(), idpB?.stop()]);
    await redis?.cleanup();
    await database?.cleanup();
  });

  const exchange = (subject_token: string, subject_token_type = ID_TOKEN) =>
    postJson(`${stack.auth.url}/auth/token-exchange`, {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token,
      subject_token_type,
    });

  async function expectRefused(token: string, reason: string) {
    const res = await exchange(token);
    expect(res.status).toBe(401);
    expect(ErrorBodySchema.parse(res.body)).toMatchObject({
      error: 'invalid_subject_token',
      reason,
    });
    return res;
  }

  it('turns a good ID token into a session that gets a ticket, connects and chats', async () => {
    const res = await exchange(await idpA.idToken('alice'));
    expect(res.status).toBe(200);
    const tokens = TokenExchangeResponseSchema.parse(res.body);
    expect(tokens.issued_token_type).toBe(ISSUED_TOKEN_TYPE);
    expect(tokens.user).toMatchObject({ email: 'alice@idp.example', roles: ['user'] });

    const socket = await AgentSocket.open(
      gateway.url,
      await issueTicket(stack.auth.url, tokens.access_token),
      'federated',
    );
    sockets.push(socket);
    socket.chat('What is 6 * 7?');
    const runId = await socket.nextRun([]);
    await socket.until(() => socket.finished(runId), 'the run');
    expectCompletedRun(socket.eventsOf(runId));

    // The same identity signs in to the same account; the link is in PostgreSQL, by iss + sub.
    const again = TokenExchangeResponseSchema.parse(
      (await exchange(await idpA.idToken('alice'))).body,
    );
    expect(again.user.id).toBe(tokens.user.id);
    const links = await database.query<{ issuer: string; subject: string; user_id: string }>(
      'SELECT issuer, subject, user_id FROM identities',
    );
    expect(links).toContainEqual({
      issuer: idpA.issuer,
      subject: 'alice',
      user_id: tokens.user.id,
    });
  });

  it('keeps two providers apart: the same subject at each is a different account', async () => {
    const a = TokenExchangeResponseSchema.parse((await exchange(await idpA.idToken('sam'))).body);
    const b = TokenExchangeResponseSchema.parse((await exchange(await idpB.idToken('sam'))).body);
    expect(a.user.id).not.toBe(b.user.id);
  });

  it('never links a provider identity to an existing account by its email: 409 identity_conflict', async () => {
    // alice@example.com is a password account (seeded); B's "alice" has that email.
    const res = await exchange(await idpB.idToken('alice'));
    expect(res.status).toBe(409);
    expect(ErrorBodySchema.parse(res.body).error).toBe('identity_conflict');
  });

  it('refuses a token for another audience', async () => {
    await expectRefused(await idpA.idToken('alice', otherClient), 'wrong_audience');
  });

  it('refuses a token from an issuer that is not configured', async () => {
    const stranger = await OidcProviderProcess.start({
      clients: [clientA],
      keys: [await signingJwk('s-1')],
    });
    try {
      await expectRefused(await stranger.idToken('alice'), 'unknown_issuer');
    } finally {
      await stranger.stop();
    }
  });

  it('refuses an expired token', async () => {
    // Provider A, restarted with a 1 s ID token lifetime for this one token.
    await idpA.start(keysA, 1);
    const token = await idpA.idToken('alice');
    await idpA.start(keysA);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    while (Date.now() / 1000 <= exp + 0.5) await new Promise((r) => setTimeout(r, 200));
    await expectRefused(token, 'expired');
  });

  it('refuses alg none, and a token signed by a key the issuer never published', async () => {
    const claims = {
      iss: idpA.issuer,
      sub: 'mallory',
      aud: clientA.client_id,
      email: 'm@idp.example',
      email_verified: true,
    };
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify({ ...claims, iat: now, exp: now + 300 })).toString(
      'base64url',
    );
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${body}.`;
    await expectRefused(none, 'algorithm_not_allowed');

    const forged = await signingJwk('a-1');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'a-1' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importJWK(forged, 'RS256'));
    await expectRefused(token, 'bad_signature');
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'never-published' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importJWK(forged, 'RS256'));
    await expectRefused(unknownKid, 'unknown_key');
  });

  it('refuses an email the provider has not verified', async () => {
    await expectRefused(await idpA.idToken('unverified-eve'), 'email_not_verified');
  });

  it('follows the provider through a key rotation by refetching its JWKS on an unknown kid', async () => {
    // auth-service has A's key set cached from the tests above; A now signs with a new key.
    const rotated = [await signingJwk('a-2'), ...keysA];
    await idpA.start(rotated);
    const token = await idpA.idToken('alice');
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid).toBe('a-2');
    const res = await exchange(token);
    expect(res.status).toBe(200);
  });

  it('keeps a disabled account refused while the provider still says yes', async () => {
    const first = TokenExchangeResponseSchema.parse(
      (await exchange(await idpA.idToken('dora'))).body,
    );
    const disabled = await usersCli(['disable', first.user.email], {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      DATABASE_URL: database.url,
    });
    expect(disabled.code).toBe(0);
    const res = await exchange(await idpA.idToken('dora'));
    expect(res.status).toBe(403);
    expect(ErrorBodySchema.parse(res.body).error).toBe('user_disabled');
  });

  it('answers a malformed request with 400 and a malformed token with 401 malformed', async () => {
    const bad = await postJson(`${stack.auth.url}/auth/token-exchange`, { grant_type: 'password' });
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(bad.body).error).toBe('invalid_request');
    await expectRefused('not-a-jwt', 'malformed');
  });
});
