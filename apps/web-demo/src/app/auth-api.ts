import { ErrorBodySchema, TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';
import { clearSession, loadSession, saveSession } from './session-store';

/** The demo's calls to auth-service; bodies are parsed with the contract schemas. */
export class AuthApi {
  private refreshing?: Promise<string>;

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
    const session = loadSession();
    if (!session) throw new Error('not logged in');
    if (session.accessExpiresAt - Date.now() > 30_000) return session.tokens.access_token;
    this.refreshing ??= this.refresh(session.tokens.refresh_token).finally(
      () => (this.refreshing = undefined),
    );
    return this.refreshing;
  };

  private async refresh(refreshToken: string): Promise<string> {
    const res = await fetch(`${this.authUrl}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    if (!res.ok) {
      clearSession();
      throw new Error('session expired');
    }
    return saveSession(TokenResponseSchema.parse(await res.json())).tokens.access_token;
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
