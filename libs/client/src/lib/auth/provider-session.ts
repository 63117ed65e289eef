import {
  ErrorBody,
  ErrorBodySchema,
  RefreshRequestSchema,
  SUBJECT_TOKEN_TYPES,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenExchangeRequestSchema,
  TokenExchangeResponseSchema,
  TokenResponse,
  TokenResponseSchema,
} from '@admitone/auth-contracts';
import { AccessTokenError } from '../transport/ticket-client';
import type { FetchLike } from '../transport/transport-types';
import { createSharedRefresh } from './shared-refresh';

/**
 * An AdmitOne session obtained with an identity provider's token, for apps
 * whose users sign in elsewhere (Google Identity Platform, Auth0, Keycloak,
 * ...). It is the SDK's `getAccessToken` when the app passes
 * `getProviderToken` instead:
 * - no session yet: the provider token goes to `POST /auth/token-exchange`
 *   (RFC 8693 shaped, built and parsed with the contract schemas);
 * - an access token past 40% of its life, or closer to expiry than the
 *   renewal lead: `POST /auth/refresh`, single-flight through
 *   createSharedRefresh, like an app's own refresh;
 * - a refresh the server no longer accepts (401: expired, rotated, revoked
 *   session): the session is dropped and the provider is asked again, so a
 *   long-lived page keeps working as long as the provider keeps the user
 *   signed in.
 * A refusal that another try cannot fix (401 invalid_subject_token, 403
 * user_disabled, 409 identity_conflict, 400) throws an AccessTokenError
 * 'refused' with the contract's body, which the client turns into
 * `auth_failed`; 429, 5xx and network failures throw 'unavailable' and the
 * client retries with backoff. The session lives in this object only:
 * each client (each tab) holds its own session, so no other tab can rotate
 * its refresh token and no cross-tab lock is needed.
 */
export type ProviderTokenType = 'id_token' | 'jwt';

export interface ProviderSessionOptions {
  authUrl: string;
  fetch: FetchLike;
  getProviderToken: () => string | Promise<string>;
  providerTokenType: ProviderTokenType;
  /** Refresh at the latest this long before the access token expires. */
  refreshBeforeMs: number;
}

interface HeldSession {
  accessToken: string;
  refreshToken: string;
  /** Local clock. */
  issuedAt: number;
  accessExpiresAt: number;
  refreshExpiresAt: number;
}

export const TOKEN_EXCHANGE_PATH = '/auth/token-exchange';
export const REFRESH_PATH = '/auth/refresh';

/** Refresh once this share of the access token's life has passed. */
const REFRESH_AT_LIFE_SHARE = 0.4;

function subjectTokenType(type: ProviderTokenType): (typeof SUBJECT_TOKEN_TYPES)[number] {
  const wanted = `urn:ietf:params:oauth:token-type:${type}`;
  const found = SUBJECT_TOKEN_TYPES.find((t) => t === wanted);
  if (!found) throw new Error(`no subject token type for ${type}`);
  return found;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Answer {
  status: number;
  json: unknown;
  retryAfter: string | null;
}

export class ProviderSession {
  private held?: HeldSession;
  private exchanging?: Promise<HeldSession>;
  private readonly fresh: () => Promise<HeldSession | null>;
  /** Exchanges done (the first sign-in included), for the app's diagnostics and tests. */
  exchanges = 0;
  refreshes = 0;

  constructor(private readonly options: ProviderSessionOptions) {
    this.fresh = createSharedRefresh<HeldSession>({
      load: () => this.held ?? null,
      needsRefresh: (s) => this.needsRefresh(s),
      refreshTokenOf: (s) => s.refreshToken,
      refresh: (s) => this.refresh(s),
      // The session is this object's alone (see above): in-tab single-flight suffices.
      locks: null,
    });
  }

  /** The SDK's getAccessToken: a usable AdmitOne access token, signing in again when needed. */
  readonly getAccessToken = async (): Promise<string> => {
    if (this.held && Date.now() >= this.held.refreshExpiresAt) this.held = undefined;
    const session = (this.held ? await this.fresh() : null) ?? (await this.signIn());
    return session.accessToken;
  };

  /** Forgets the session; the next getAccessToken signs in with a fresh provider token. */
  forget(): void {
    this.held = undefined;
  }

  private needsRefresh(s: HeldSession): boolean {
    const now = Date.now();
    const life = s.accessExpiresAt - s.issuedAt;
    return (
      now >= s.issuedAt + life * REFRESH_AT_LIFE_SHARE ||
      s.accessExpiresAt - now <= this.options.refreshBeforeMs
    );
  }

  private signIn(): Promise<HeldSession> {
    this.exchanging ??= this.exchange().finally(() => (this.exchanging = undefined));
    return this.exchanging;
  }

  private async exchange(): Promise<HeldSession> {
    let providerToken: string;
    try {
      providerToken = await this.options.getProviderToken();
    } catch (error) {
      throw new AccessTokenError({
        kind: 'unavailable',
        detail: `getProviderToken failed: ${errorText(error)}`,
      });
    }
    const request = TokenExchangeRequestSchema.safeParse({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: providerToken,
      subject_token_type: subjectTokenType(this.options.providerTokenType),
    });
    if (!request.success)
      throw new AccessTokenError({
        kind: 'auth_failed',
        endpoint: 'token_exchange',
        status: 401,
        detail: 'getProviderToken returned no usable token (empty or over 16 384 characters)',
      });
    const answer = await this.post(TOKEN_EXCHANGE_PATH, request.data, 'token exchange');
    if (answer.status === 200) {
      const tokens = TokenExchangeResponseSchema.safeParse(answer.json);
      if (!tokens.success)
        throw new AccessTokenError({
          kind: 'unavailable',
          status: 200,
          detail: 'token exchange response outside the contract',
        });
      this.exchanges += 1;
      return this.hold(tokens.data);
    }
    throw this.failure(answer, 'token_exchange');
  }

  private async refresh(s: HeldSession): Promise<HeldSession> {
    const body = RefreshRequestSchema.parse({ refresh_token: s.refreshToken });
    const answer = await this.post(REFRESH_PATH, body, 'refresh');
    if (answer.status === 200) {
      const tokens = TokenResponseSchema.safeParse(answer.json);
      if (!tokens.success)
        throw new AccessTokenError({
          kind: 'unavailable',
          status: 200,
          detail: 'refresh response outside the contract',
        });
      this.refreshes += 1;
      return this.hold(tokens.data);
    }
    if (answer.status === 401) {
      // Expired, rotated or revoked: this session is over; the provider may still vouch for the user.
      if (this.held === s) this.held = undefined;
      return this.signIn();
    }
    throw this.failure(answer, 'refresh');
  }

  private hold(tokens: TokenResponse): HeldSession {
    const now = Date.now();
    this.held = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      issuedAt: now,
      accessExpiresAt: now + tokens.expires_in * 1000,
      refreshExpiresAt: now + tokens.refresh_expires_in * 1000,
    };
    return this.held;
  }

  private async post(path: string, body: unknown, what: string): Promise<Answer> {
    try {
      const res = await this.options.fetch(`${this.options.authUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, retryAfter: res.headers.get('retry-after') };
    } catch (error) {
      throw new AccessTokenError({
        kind: 'unavailable',
        detail: `${what} request failed: ${errorText(error)}`,
      });
    }
  }

  /** 400/401/403/409: no retry can help (auth_failed); 429, 5xx and the rest: try again later. */
  private failure(answer: Answer, endpoint: 'token_exchange' | 'refresh'): AccessTokenError {
    const parsed = ErrorBodySchema.safeParse(answer.json);
    const body: ErrorBody | undefined = parsed.success ? parsed.data : undefined;
    const path = endpoint === 'token_exchange' ? TOKEN_EXCHANGE_PATH : REFRESH_PATH;
    const detail = `${path} answered ${answer.status}${body ? ` ${body.error}${body.reason ? ` (${body.reason})` : ''}` : ''}`;
    if ([400, 401, 403, 409].includes(answer.status))
      return new AccessTokenError({
        kind: 'auth_failed',
        endpoint,
        status: answer.status,
        detail,
        ...(body ? { body } : {}),
      });
    const wait = retryAfterMs(answer.retryAfter);
    return new AccessTokenError({
      kind: 'unavailable',
      status: answer.status,
      detail,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
    });
  }
}
