import { TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';

/**
 * The demo keeps its tokens in localStorage so that tabs share one session
 * (log out in one tab and the others' sockets close with 4403). A real app
 * may prefer memory plus a refresh cookie; the page's CSP allows scripts from
 * its own origin only, which is what makes localStorage tolerable here.
 */
const KEY = 'admitone.session';

export interface StoredSession {
  tokens: TokenResponse;
  /** When the access token expires, in ms since the epoch. */
  accessExpiresAt: number;
}

export function saveSession(tokens: TokenResponse): StoredSession {
  const session = { tokens, accessExpiresAt: Date.now() + tokens.expires_in * 1000 };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function loadSession(): StoredSession | null {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? 'null') as StoredSession | null;
    if (!raw || typeof raw.accessExpiresAt !== 'number') return null;
    return { tokens: TokenResponseSchema.parse(raw.tokens), accessExpiresAt: raw.accessExpiresAt };
  } catch {
    return null;
  }
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}
