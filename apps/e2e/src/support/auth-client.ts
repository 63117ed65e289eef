import { randomBytes } from 'node:crypto';
import {
  ErrorBody,
  ErrorBodySchema,
  TicketExchangeResponseSchema,
  TicketResponseSchema,
  TokenResponse,
  TokenResponseSchema,
} from '@admitone/auth-contracts';
import { exportJWK, generateKeyPair } from 'jose';

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
