import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ISSUED_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenExchangeRequest,
  TokenExchangeRequestSchema,
} from '@admitone/auth-contracts';
import { AccessTokenError } from '../transport/ticket-client';
import { ProviderSession } from './provider-session';

/**
 * The provider session against a stand-in auth-service: a real HTTP server
 * in this process, scripted per test (lifetimes of a second, a refusal, a
 * 429) where the real service cannot be made to answer so on demand. The
 * real auth-service and a real oidc-provider are exercised in
 * apps/e2e/src/client/provider-sign-in.spec.ts.
 */
interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

interface StandInAuth {
  url: string;
  exchanges: TokenExchangeRequest[];
  refreshes: string[];
  /** The next answers of each endpoint; a session with fresh tokens when empty. */
  exchangeAnswers: Answer[];
  refreshAnswers: Answer[];
  accessTtl: number;
  close(): Promise<void>;
}

const user = { id: 'u-1', email: 'alice@idp.example', roles: ['user'] };
let counter = 0;

function sessionBody(accessTtl: number, extra: Record<string, unknown> = {}) {
  counter += 1;
  return {
    access_token: `access-${counter}`,
    token_type: 'Bearer',
    expires_in: accessTtl,
    refresh_token: `refresh-${counter}`,
    refresh_expires_in: 3600,
    user,
    ...extra,
  };
}

async function standInAuth(): Promise<StandInAuth> {
  const state = {
    exchanges: [] as TokenExchangeRequest[],
    refreshes: [] as string[],
    exchangeAnswers: [] as Answer[],
    refreshAnswers: [] as Answer[],
    accessTtl: 900,
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      let answer: Answer | undefined;
      if (req.url === '/auth/token-exchange') {
        state.exchanges.push(TokenExchangeRequestSchema.parse(body));
        answer = state.exchangeAnswers.shift() ?? {
          status: 200,
          body: sessionBody(state.accessTtl, { issued_token_type: ISSUED_TOKEN_TYPE }),
        };
      } else if (req.url === '/auth/refresh') {
        state.refreshes.push(String(body['refresh_token']));
        answer = state.refreshAnswers.shift() ?? {
          status: 200,
          body: sessionBody(state.accessTtl),
        };
      }
      if (!answer) return void res.writeHead(404).end();
      res
        .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        .end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

async function refusalOf(promise: Promise<unknown>): Promise<AccessTokenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AccessTokenError);
  return error as AccessTokenError;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ProviderSession against a stand-in auth-service', () => {
  let auth: StandInAuth;
  let providerTokens: string[];

  function session(providerTokenType: 'id_token' | 'jwt' = 'id_token', refreshBeforeMs = 0) {
    return new ProviderSession({
      authUrl: auth.url,
      fetch,
      getProviderToken: async () => {
        const token = `provider-token-${providerTokens.length + 1}`;
        providerTokens.push(token);
        return token;
      },
      providerTokenType,
      refreshBeforeMs,
    });
  }

  beforeEach(async () => {
    auth = await standInAuth();
    providerTokens = [];
  });
  afterEach(() => auth.close());

  it('signs in once with the provider token, as an RFC 8693 request, for concurrent callers', async () => {
    const s = session();
    const tokens = await Promise.all([s.getAccessToken(), s.getAccessToken(), s.getAccessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^access-/);
    expect(auth.exchanges).toEqual([
      {
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
        subject_token: 'provider-token-1',
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      },
    ]);
    // A fresh access token is used as it is: no second exchange, no refresh.
    expect(await s.getAccessToken()).toBe(tokens[0]);
    expect(auth.exchanges).toHaveLength(1);
    expect(auth.refreshes).toEqual([]);
  });

  it('sends a JWT access token with its own subject_token_type', async () => {
    await session('jwt').getAccessToken();
    expect(auth.exchanges[0]?.subject_token_type).toBe('urn:ietf:params:oauth:token-type:jwt');
  });

  it('refreshes (single-flight, rotating) once the access token is past 40% of its life', async () => {
    auth.accessTtl = 1;
    const s = session();
    const first = await s.getAccessToken();
    await sleep(500);
    const refreshed = await Promise.all([s.getAccessToken(), s.getAccessToken()]);
    expect(refreshed[0]).toBe(refreshed[1]);
    expect(refreshed[0]).not.toBe(first);
    expect(auth.refreshes).toHaveLength(1);
    await sleep(500);
    await s.getAccessToken();
    // The second refresh presents the rotated refresh token, not the first one again.
    expect(auth.refreshes).toHaveLength(2);
    expect(auth.refreshes[1]).not.toBe(auth.refreshes[0]);
    expect(auth.exchanges).toHaveLength(1);
    expect(providerTokens).toEqual(['provider-token-1']);
  });

  it('refreshes early enough for a renewal: within refreshBeforeMs of expiry', async () => {
    const s = session('id_token', 900_000);
    await s.getAccessToken();
    await s.getAccessToken();
    expect(auth.refreshes).toHaveLength(1);
  });

  it('asks the provider again when the session can no longer be refreshed', async () => {
    auth.accessTtl = 1;
    const s = session();
    const first = await s.getAccessToken();
    auth.refreshAnswers.push({
      status: 401,
      body: { error: 'refresh_token_reused', message: 'reused', request_id: 'r-1' },
    });
    await sleep(500);
    const again = await s.getAccessToken();
    expect(again).not.toBe(first);
    expect(auth.refreshes).toHaveLength(1);
    expect(providerTokens).toEqual(['provider-token-1', 'provider-token-2']);
    expect(auth.exchanges.map((e) => e.subject_token)).toEqual([
      'provider-token-1',
      'provider-token-2',
    ]);
  });

  it('a refresh refused other than with 401 (403 user_disabled) is final, without asking the provider', async () => {
    auth.accessTtl = 1;
    const s = session();
    await s.getAccessToken();
    auth.refreshAnswers.push({
      status: 403,
      body: { error: 'user_disabled', message: 'disabled', request_id: 'r-4' },
    });
    await sleep(500);
    const error = await refusalOf(s.getAccessToken());
    expect(error.outcome).toMatchObject({
      kind: 'auth_failed',
      endpoint: 'refresh',
      status: 403,
      body: { error: 'user_disabled' },
    });
    expect(providerTokens).toEqual(['provider-token-1']);
  });

  it('turns a refused provider token into auth_failed with the contract body', async () => {
    const body = {
      error: 'invalid_subject_token',
      message: 'the token was issued for another audience',
      request_id: 'r-2',
      reason: 'wrong_audience',
    };
    auth.exchangeAnswers.push({ status: 401, body });
    const error = await refusalOf(session().getAccessToken());
    expect(error.outcome).toMatchObject({
      kind: 'auth_failed',
      endpoint: 'token_exchange',
      status: 401,
      body,
    });
  });

  it.each([
    [403, 'user_disabled'],
    [409, 'identity_conflict'],
  ])('a %d %s is final too', async (status, code) => {
    auth.exchangeAnswers.push({ status, body: { error: code, message: 'no', request_id: 'r' } });
    const error = await refusalOf(session().getAccessToken());
    expect(error.outcome).toMatchObject({ kind: 'auth_failed', status, body: { error: code } });
  });

  it('a 429 is unavailable, with its Retry-After, and the next call signs in', async () => {
    auth.exchangeAnswers.push({
      status: 429,
      body: { error: 'rate_limited', message: 'slow down', request_id: 'r-3' },
      headers: { 'retry-after': '7' },
    });
    const s = session();
    const error = await refusalOf(s.getAccessToken());
    expect(error.outcome).toMatchObject({ kind: 'unavailable', status: 429, retryAfterMs: 7000 });
    expect(await s.getAccessToken()).toMatch(/^access-/);
  });

  it('an empty provider token is refused without a request', async () => {
    const s = new ProviderSession({
      authUrl: auth.url,
      fetch,
      getProviderToken: () => '',
      providerTokenType: 'id_token',
      refreshBeforeMs: 0,
    });
    const error = await refusalOf(s.getAccessToken());
    expect(error.outcome).toMatchObject({ kind: 'auth_failed', endpoint: 'token_exchange' });
    expect(auth.exchanges).toEqual([]);
  });

  it('a getProviderToken that throws is unavailable (retried), its message kept', async () => {
    const s = new ProviderSession({
      authUrl: auth.url,
      fetch,
      getProviderToken: () => Promise.reject(new Error('popup closed')),
      providerTokenType: 'id_token',
      refreshBeforeMs: 0,
    });
    const error = await refusalOf(s.getAccessToken());
    expect(error.outcome).toEqual({
      kind: 'unavailable',
      detail: 'getProviderToken failed: popup closed',
    });
  });
});
