import type { AgentEvent } from '@admitone/agent-events';
import { AgentClient, AuthFailure, StateChange } from '@admitone/client';
import { AuthApi } from './auth-api';
import {
  beginSignIn,
  completeSignIn,
  emailOf,
  forgetIdToken,
  heldIdToken,
  isSignInCallback,
  OidcConfig,
} from './oidc-sign-in';
import { loadSession } from './session-store';

/**
 * The demo: log in (with a password, or through an OpenID provider when one
 * is configured), chat, and watch each run's events as a live timeline,
 * with the connection's state (and why it changed) always visible. All the
 * WebSocket work (tickets, renewal, reconnects, resume) is the SDK's; with
 * a provider, so is the AdmitOne session (`getProviderToken`).
 */
interface DemoConfig {
  authUrl: string;
  gatewayUrl: string;
  /** Present when the demo is started with a provider (DEMO_OIDC_ISSUER). */
  oidc?: OidcConfig;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const view = {
  login: $('login-view'),
  chat: $('chat-view'),
  loginForm: $<HTMLFormElement>('login-form'),
  loginButton: $<HTMLButtonElement>('login-button'),
  loginError: $('login-error'),
  email: $<HTMLInputElement>('email'),
  password: $<HTMLInputElement>('password'),
  oidcSignIn: $('oidc-sign-in'),
  oidcButton: $<HTMLButtonElement>('oidc-button'),
  who: $('who'),
  logout: $<HTMLButtonElement>('logout-button'),
  chatForm: $<HTMLFormElement>('chat-form'),
  chatInput: $<HTMLInputElement>('chat-input'),
  send: $<HTMLButtonElement>('send-button'),
  chatError: $('chat-error'),
  answer: $('answer'),
  timeline: $('timeline'),
  connection: $('connection'),
  stateText: $('state-text'),
};

let client: AgentClient | undefined;

function showLogin(message = ''): void {
  view.chat.hidden = true;
  view.login.hidden = false;
  view.loginError.textContent = message;
}

function renderState(change: StateChange): void {
  view.connection.dataset['state'] = change.state;
  const why = change.reason
    ? `: ${change.reason.meaning}${change.reason.code ? ` (${change.reason.code})` : ''}`
    : '';
  const text: Record<StateChange['state'], string> = {
    idle: 'not connected',
    connecting: 'connecting…',
    open: `connected${client?.protocol ? ` (${client.protocol})` : ''}`,
    renewing: 'renewing authentication…',
    reconnecting: `reconnecting${change.attempt !== undefined ? ` (attempt ${change.attempt + 1})` : ''}${why}`,
    closed: `closed${why}`,
  };
  view.stateText.textContent = text[change.state];
  view.connection.dataset['reason'] = change.reason?.reason ?? '';
  view.send.disabled = change.state !== 'open';
}

function renderEvent(event: AgentEvent): void {
  const item = document.createElement('li');
  item.dataset['type'] = event.type;
  item.dataset['runId'] = event.run_id;
  item.dataset['eventId'] = String(event.event_id);
  const type = document.createElement('span');
  type.className = 'type';
  type.textContent = event.type;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `#${event.event_id} · ${new Date(event.ts).toLocaleTimeString()}`;
  const detail = document.createElement('span');
  detail.className = 'detail';
  detail.textContent = describe(event);
  item.append(type, meta, detail);
  view.timeline.append(item);
  if (event.type === 'agent_completed') view.answer.textContent = event.result;
  if (event.type === 'agent_failed') view.answer.textContent = `The agent failed: ${event.error}`;
}

function describe(event: AgentEvent): string {
  switch (event.type) {
    case 'agent_started':
      return 'The agent picked up the request.';
    case 'agent_thinking':
      return event.text;
    case 'tool_executing':
      return `${event.tool}(${JSON.stringify(event.input)})`;
    case 'tool_completed':
      return event.error !== undefined
        ? `${event.tool} failed: ${event.error}`
        : `${event.tool} → ${JSON.stringify(event.output)}`;
    case 'agent_completed':
      return event.result;
    case 'agent_failed':
      return event.error;
  }
}

function startClient(config: DemoConfig, auth: AuthApi): void {
  const session = loadSession();
  if (!session) return showLogin();
  const carrier =
    new URLSearchParams(location.search).get('carrier') === 'query' ? 'query' : 'subprotocol';
  openChat(
    `Signed in as ${session.tokens.user.email}`,
    new AgentClient({
      authUrl: config.authUrl,
      gatewayUrl: config.gatewayUrl,
      getAccessToken: auth.accessToken,
      carrier,
    }),
  );
}

/** Signed in through the provider: the SDK exchanges the ID token and runs the session. */
function startProviderClient(config: DemoConfig, oidc: OidcConfig, idToken: string): void {
  openChat(
    `Signed in with ${oidc.name} as ${emailOf(idToken)}`,
    new AgentClient({
      authUrl: config.authUrl,
      gatewayUrl: config.gatewayUrl,
      // Asked again only when the AdmitOne session cannot be refreshed; a stale ID token is then
      // refused (expired) and the page offers to sign in with the provider again.
      getProviderToken: () => heldIdToken() ?? idToken,
    }),
    ({ endpoint, body }) => {
      forgetIdToken();
      const why = `${body?.error ?? 'refused'}${body?.reason ? `: ${body.reason}` : ''}`;
      return endpoint === 'token_exchange'
        ? `${oidc.name}'s sign-in was not accepted (${why}). Sign in again.`
        : `Your session is no longer valid (${why}). Sign in again.`;
    },
  );
}

function openChat(
  who: string,
  created: AgentClient,
  describeAuthFailure: (failure: AuthFailure) => string = () =>
    'Your login is no longer valid. Log in again.',
): void {
  view.login.hidden = true;
  view.chat.hidden = false;
  view.who.textContent = who;
  client = created;
  client.on('state', renderState);
  client.on('event', renderEvent);
  client.on('error', (error) => (view.chatError.textContent = `${error.code}: ${error.message}`));
  client.on('session_revoked', () => {
    client = undefined;
    showLogin('Your session was revoked (you logged out, perhaps in another tab). Log in again.');
  });
  client.on('auth_failed', (failure) => {
    client = undefined;
    showLogin(describeAuthFailure(failure));
  });
  client.connect().catch(() => {
    // The 'state', 'session_revoked' and 'auth_failed' handlers already show why.
  });
}

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as DemoConfig;
  const auth = new AuthApi(config.authUrl);
  (window as unknown as { admitone: unknown }).admitone = {
    get client() {
      return client;
    },
  };

  view.loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    view.loginError.textContent = '';
    auth
      .login(view.email.value, view.password.value)
      .then(() => startClient(config, auth))
      .catch((error: Error) => (view.loginError.textContent = error.message));
  });
  view.loginButton.disabled = false;
  view.chatForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = view.chatInput.value.trim();
    if (!content || !client) return;
    view.chatError.textContent = '';
    view.answer.textContent = '';
    view.timeline.replaceChildren();
    client.chat(content);
  });
  view.logout.addEventListener('click', () => {
    client?.close();
    client = undefined;
    forgetIdToken();
    void auth.logout().then(() => showLogin('You are logged out.'));
  });

  const oidc = config.oidc;
  if (oidc) {
    view.oidcButton.textContent = `Sign in with ${oidc.name}`;
    view.oidcSignIn.hidden = false;
    view.oidcButton.addEventListener('click', () => {
      view.loginError.textContent = '';
      beginSignIn(oidc).catch((error: Error) => (view.loginError.textContent = error.message));
    });
    if (isSignInCallback()) {
      try {
        startProviderClient(config, oidc, await completeSignIn(oidc));
      } catch (error) {
        showLogin((error as Error).message);
      }
      return;
    }
    const held = heldIdToken();
    if (held) return startProviderClient(config, oidc, held);
  }
  startClient(config, auth);
}

void main();
