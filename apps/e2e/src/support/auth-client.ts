import { eventually } from './service-process';
import { randomBytes } from 'node:crypto';
import {
  AccessTokenClaims,
  AccessTokenClaimsSchema,
  ErrorBody,
  ErrorBodySchema,
  ErrorCode,
  SESSION_REVOKED_CHANNEL,
  SessionRevokedMessage,
  SessionRevokedMessageSchema,
  statusOf,
  TicketExchangeResponseSchema,
  TicketInvalidReason,
  TicketResponseSchema,
  TokenResponse,
  TokenResponseSchema,
} from '@admitone/auth-contracts';
import type { TestRedis } from '@admitone/testing';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  JWK,
  SignJWT,
} from 'jose';

/** Thin HTTP helpers that speak only the public contract, parsing every answer with its schema. */
export interface HttpResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult<unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export function errorBody(result: HttpResult<unknown>): ErrorBody {
  return ErrorBodySchema.parse(result.body);
}

export async function login(
  authUrl: string,
  email: string,
  password: string,
): Promise<TokenResponse> {
  const res = await postJson(`${authUrl}/auth/login`, { email, password });
  if (res.status !== 200)
    throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return TokenResponseSchema.parse(res.body);
}

export async function issueTicket(
  authUrl: string,
  accessToken: string,
  origin?: string,
): Promise<string> {
  const res = await postJson(
    `${authUrl}/websocket/ticket`,
    {},
    { authorization: `Bearer ${accessToken}`, ...(origin ? { origin } : {}) },
  );
  if (res.status !== 201)
    throw new Error(`ticket failed: ${res.status} ${JSON.stringify(res.body)}`);
  return TicketResponseSchema.parse(res.body).ticket;
}

export async function exchange(
  authUrl: string,
  key: string,
  ticket: string,
  origin?: string,
): Promise<HttpResult<unknown>> {
  return postJson(
    `${authUrl}/internal/tickets/exchange`,
    { ticket, ...(origin ? { origin } : {}) },
    { authorization: `Bearer ${key}` },
  );
}

export function parseExchange(result: HttpResult<unknown>) {
  return TicketExchangeResponseSchema.parse(result.body);
}

/** A fresh ES256 private JWK in the format JWT_SIGNING_KEYS takes. */
export async function signingKey(kid: string): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
}

export function exchangeKey(): string {
  return randomBytes(32).toString('base64url');
}

/** GET that parses a JSON answer (or leaves the text when it is not JSON). */
export async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<HttpResult<unknown>> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function me(authUrl: string, accessToken: string): Promise<HttpResult<unknown>> {
  return getJson(`${authUrl}/auth/me`, bearer(accessToken));
}

export function refresh(authUrl: string, refreshToken: string): Promise<HttpResult<unknown>> {
  return postJson(`${authUrl}/auth/refresh`, { refresh_token: refreshToken });
}

export function logout(authUrl: string, accessToken: string): Promise<HttpResult<unknown>> {
  return postJson(`${authUrl}/auth/logout`, {}, bearer(accessToken));
}

export function requestTicket(
  authUrl: string,
  accessToken: string,
  headers: Record<string, string> = {},
): Promise<HttpResult<unknown>> {
  return postJson(`${authUrl}/websocket/ticket`, {}, { ...bearer(accessToken), ...headers });
}

/**
 * Asserts that an answer is the contract's error for `code`: the status bound
 * to it, a body that parses with ErrorBodySchema and, when given, the reason.
 */
export function expectError(
  result: HttpResult<unknown>,
  code: ErrorCode,
  reason?: TicketInvalidReason,
): ErrorBody {
  const parsed = ErrorBodySchema.safeParse(result.body);
  if (
    !parsed.success ||
    result.status !== statusOf(code) ||
    parsed.data.error !== code ||
    (reason !== undefined && parsed.data.reason !== reason)
  ) {
    throw new Error(
      `expected ${statusOf(code)} ${code}${reason ? ` (${reason})` : ''}, ` +
        `got ${result.status} ${JSON.stringify(result.body)}`,
    );
  }
  return parsed.data;
}

/** The claims of an access token, parsed with the contract's schema (not verified). */
export function accessTokenClaims(token: string): AccessTokenClaims {
  return AccessTokenClaimsSchema.parse(decodeJwt(token));
}

export function accessTokenKid(token: string): string | undefined {
  return decodeProtectedHeader(token).kid;
}

/**
 * Signs an access token with a private JWK the test handed to the service,
 * so a test can present tokens that differ from real ones in one respect only
 * (expired, wrong issuer, ...).
 */
export async function signAccessToken(
  privateJwk: Record<string, unknown>,
  claims: AccessTokenClaims,
  kid = String(privateJwk['kid']),
): Promise<string> {
  const key = await importJWK(privateJwk as unknown as JWK, 'ES256');
  return new SignJWT({ sid: claims.sid, roles: claims.roles })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setJti(claims.jti)
    .sign(key);
}

/** Replaces one character in the middle of a JWT's signature. */
export function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.');
  const i = Math.floor(signature.length / 2);
  const swapped = signature[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${signature.slice(0, i)}${swapped}${signature.slice(i + 1)}`;
}

export interface RevocationListener {
  /** Every message received so far, each parsed with SessionRevokedMessageSchema. */
  messages(): SessionRevokedMessage[];
  /** Waits for the first message about this session, then returns every one received for it. */
  publishedFor(sessionId: string): Promise<SessionRevokedMessage[]>;
  close(): Promise<void>;
}

/** Subscribes to `<prefix>sessions:revoked`, as a gateway replica does. */
export async function listenForRevocations(redis: TestRedis): Promise<RevocationListener> {
  const subscriber = redis.client.duplicate();
  subscriber.on('error', () => undefined);
  if (subscriber.status !== 'ready') await subscriber.connect();
  const channel = `${redis.prefix}${SESSION_REVOKED_CHANNEL}`;
  const raw: string[] = [];
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) raw.push(message);
  });
  await subscriber.subscribe(channel);
  const messages = () => raw.map((m) => SessionRevokedMessageSchema.parse(JSON.parse(m)));
  return {
    messages,
    async publishedFor(sessionId: string) {
      const about = () => messages().filter((m) => m.session_id === sessionId);
      await eventually(() => about().length > 0, `a session_revoked message for ${sessionId}`);
      return about();
    },
    async close() {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
