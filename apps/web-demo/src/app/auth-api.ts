import { ErrorBodySchema, TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';
import { createSharedRefresh } from '@admitone/client';
import { clearSession, loadSession, saveSession, StoredSession } from './session-store';

/**
 * Refresh when less than this is left of the access token or, for tokens
 * shorter-lived than that, less than three quarters of its lifetime: a token
 * another tab has just saved is used as it is, so the tabs share one token
 * instead of each rotating the session on its own.
 */
const REFRESH_AHEAD_MS = 30_000;

/**
 * The demo's calls to auth-service; bodies are parsed with the contract
 * schemas. Tabs share one session in localStorage, so refreshes are
 * single-flight across tabs (the SDK's createSharedRefresh, on Web Locks):
 * two tabs never present the same rotating refresh token at once.
 */
export class AuthApi {
  private readonly session = createSharedRefresh<StoredSession>({
    lockName: 'admitone.demo.refresh',
    load: loadSession,
    needsRefresh: (s) =>
      s.accessExpiresAt - Date.now() <= Math.min(REFRESH_AHEAD_MS, s.tokens.expires_in * 750),
    refreshTokenOf: (s) => s.tokens.refresh_token,
    refresh: (s) => this.refresh(s.tokens.refresh_token),
  });

  constructor(private readonly authUrl: string) {}

  async login(email: string, password: string): Promise<TokenResponse> {
    const res = await fetch(`${this.authUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body: unknown = await res.json().catch(() => ({}));
    if (!res.ok) {
      const error = ErrorBodySchema.safeParse(body);
      throw new Error(error.success ? error.data.message : `Login failed (${res.status}).`);
    }
    const tokens = TokenResponseSchema.parse(body);
    saveSession(tokens);
    return tokens;
  }

  /** The access token for the SDK, refreshed (with rotation) shortly before it expires. */
  accessToken = async (): Promise<string> => {
    const session = await this.session();
    if (!session) throw new Error('not logged in');
    return session.tokens.access_token;
  };

  private async refresh(refreshToken: string): Promise<StoredSession> {
    const res = await fetch(`${this.authUrl}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    if (!res.ok) {
      clearSession();
      throw new Error('session expired');
    }
    return saveSession(TokenResponseSchema.parse(await res.json()));
  }

  async logout(): Promise<void> {
    const session = loadSession();
    clearSession();
    if (!session) return;
    await fetch(`${this.authUrl}/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.tokens.access_token}` },
    }).catch(() => undefined);
  }
}
