/**
 * "Sign in with <provider>": the OpenID Connect authorization-code flow
 * with PKCE, as a public client (no secret can be kept in a page). The page
 * redirects to the provider's authorization endpoint with a fresh state,
 * nonce and code challenge kept in sessionStorage; the provider redirects
 * back to this page with `code` and `state`; the page checks the state,
 * redeems the code with the verifier at the token endpoint (CORS, allowed by
 * the provider for its public clients' redirect origins) and checks the
 * nonce in the ID token it got. The ID token then goes to the SDK
 * (`getProviderToken`), which exchanges it with auth-service; auth-service,
 * not this page, verifies its signature, issuer, audience and expiry.
 */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  name: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
}

const PENDING_KEY = 'admitone.demo.oidc.pending';
const ID_TOKEN_KEY = 'admitone.demo.oidc.id_token';

function randomString(bytes = 32): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(data: Uint8Array): string {
  let binary = '';
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** This page, without query or fragment: the redirect URI registered at the provider. */
function redirectUri(): string {
  return `${location.origin}/`;
}

async function discover(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`The provider's discovery document answered ${res.status}.`);
  const doc = (await res.json()) as Partial<Discovery>;
  if (!doc.authorization_endpoint || !doc.token_endpoint)
    throw new Error("The provider's discovery document has no authorization or token endpoint.");
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/** Leaves for the provider's sign-in page. */
export async function beginSignIn(oidc: OidcConfig): Promise<void> {
  const discovery = await discover(oidc.issuer);
  const pending: PendingSignIn = {
    state: randomString(16),
    nonce: randomString(16),
    verifier: randomString(32),
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: oidc.clientId,
    response_type: 'code',
    scope: 'openid email',
    redirect_uri: redirectUri(),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await challengeOf(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** True when this page load is the provider's redirect back (code or error, and state). */
export function isSignInCallback(): boolean {
  const params = new URLSearchParams(location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

function claimsOf(idToken: string): Record<string, unknown> {
  const payload = idToken.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * Completes the redirect back: checks state, redeems the code, checks the
 * nonce, keeps the ID token for this tab, and takes code and state out of
 * the address bar. Returns the ID token.
 */
export async function completeSignIn(oidc: OidcConfig): Promise<string> {
  const params = new URLSearchParams(location.search);
  history.replaceState(null, '', redirectUri());
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as PendingSignIn | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has('error'))
    throw new Error(
      `${oidc.name} refused: ${params.get('error_description') ?? params.get('error')}`,
    );
  if (!pending || params.get('state') !== pending.state)
    throw new Error('This sign-in did not start here (state mismatch). Try again.');
  const discovery = await discover(oidc.issuer);
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body = (await res.json().catch(() => ({}))) as { id_token?: string; error?: string };
  if (!res.ok || !body.id_token)
    throw new Error(`${oidc.name}'s token endpoint answered ${res.status} ${body.error ?? ''}`);
  if (claimsOf(body.id_token)['nonce'] !== pending.nonce)
    throw new Error('The ID token was not issued for this sign-in (nonce mismatch).');
  sessionStorage.setItem(ID_TOKEN_KEY, body.id_token);
  return body.id_token;
}

/** The ID token this tab signed in with, if any. */
export function heldIdToken(): string | null {
  return sessionStorage.getItem(ID_TOKEN_KEY);
}

export function forgetIdToken(): void {
  sessionStorage.removeItem(ID_TOKEN_KEY);
}

/** The email claim of the held ID token, to show who is signed in. */
export function emailOf(idToken: string): string {
  const claims = claimsOf(idToken);
  return typeof claims['email'] === 'string' ? claims['email'] : String(claims['sub'] ?? '');
}
