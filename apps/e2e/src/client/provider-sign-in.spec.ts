import { AgentClient, AgentClientError, AuthFailure, CloseReason } from '@admitone/client';
import WebSocket from 'ws';
import {
  ClientRecorder,
  ClientStack,
  serviceLogs,
  startMemoryStack,
} from '../support/client-stack';
import { OidcProviderProcess, REDIRECT_URI, signingJwk } from '../support/oidc';
import { stopAllServices } from '../support/service-process';

/**
 * @admitone/client signing in with an identity provider's token
 * (`getProviderToken`) against the real auth-service and ws-gateway and a
 * real oidc-provider process: the SDK exchanges the provider's ID token
 * (POST /auth/token-exchange), gets tickets with the session it got,
 * renews, and asks the provider again once that session can no longer be
 * refreshed. A token the service refuses stops the client with a typed
 * error carrying the contract's code and reason.
 */
describe('@admitone/client: sign-in with a provider token', () => {
  let idp: OidcProviderProcess;
  let stack: ClientStack;
  let issuers: string;
  const clients: AgentClient[] = [];

  const webClient = {
    client_id: 'admitone-web',
    client_secret: 'w'.repeat(40),
    redirect_uris: [REDIRECT_URI],
  };
  const otherClient = {
    client_id: 'another-app',
    client_secret: 'o'.repeat(40),
    redirect_uris: [REDIRECT_URI],
  };

  beforeAll(async () => {
    idp = await OidcProviderProcess.start({
      clients: [webClient, otherClient],
      keys: [await signingJwk('sdk-1')],
    });
    issuers = JSON.stringify([
      { issuer: idp.issuer, audiences: [webClient.client_id], algorithms: ['RS256'] },
    ]);
    stack = await startMemoryStack({ auth: { OIDC_ISSUERS: issuers } });
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) client.close();
    await stopAllServices();
    await idp?.stop();
  });

  /** An SDK client whose getProviderToken signs `login` in at the provider for `client`. */
  function providerClient(
    on: ClientStack,
    login: string,
    options: { oidcClient?: typeof webClient; renewBeforeMs?: number } = {},
  ) {
    const handedOut: string[] = [];
    const lines: string[] = [];
    const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    const client = new AgentClient({
      authUrl: on.authUrl,
      gatewayUrl: on.gatewayUrl,
      getProviderToken: async () => {
        const token = await idp.idToken(login, options.oidcClient ?? webClient);
        handedOut.push(token);
        return token;
      },
      WebSocket,
      backoff: { initialMs: 100, maxMs: 1000 },
      ...(options.renewBeforeMs !== undefined ? { renewBeforeMs: options.renewBeforeMs } : {}),
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    clients.push(client);
    return { client, recorder: new ClientRecorder(client, lines), handedOut };
  }

  it('signs in with an ID token and answers "What is 6 * 7?" with the five events', async () => {
    const { client, recorder, handedOut } = providerClient(stack, 'carol');
    const results: string[] = [];
    client.on('agent_completed', (e) => results.push(e.result));

    const established = await client.connect();
    expect(established).toMatchObject({ protocol: 'agent.v1', connection_ready: true });
    expect(handedOut).toHaveLength(1);

    client.chat('What is 6 * 7?');
    await recorder.until(() => results.length === 1, 'agent_completed', 20_000);
    expect(recorder.events.map((e) => [e.type, e.event_id])).toEqual([
      ['agent_started', 1],
      ['agent_thinking', 2],
      ['tool_executing', 3],
      ['tool_completed', 4],
      ['agent_completed', 5],
    ]);
    expect(results[0]).toContain('42');

    // The connection belongs to the account auth-service made for the provider's user.
    const exchanged = serviceLogs(stack.auth, 'session started', { audit: 'token_exchanged' });
    expect(exchanged.length).toBeGreaterThanOrEqual(1);
    expect(exchanged.map((l) => l['user_id'])).toContain(established.user_id);
    // The provider's token never reached the SDK's logger nor auth-service's logs.
    for (const line of recorder.logLines) expect(line).not.toContain(handedOut[0]);
    expect(JSON.stringify(stack.auth.logLines())).not.toContain(handedOut[0]);
    client.close();
  }, 60_000);

  it('surfaces a refused provider token as a typed error with the contract code and reason', async () => {
    // An ID token issued to another app of the same provider: its audience is not ours.
    const { client, recorder } = providerClient(stack, 'dave', { oidcClient: otherClient });
    const failures: AuthFailure[] = [];
    client.on('auth_failed', (f) => failures.push(f));

    const error = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentClientError);
    const { code, reason } = error as AgentClientError;
    expect(code).toBe('closed');
    expect(reason).toMatchObject<Partial<CloseReason>>({
      reason: 'auth_failed',
      endpoint: 'token_exchange',
      status: 401,
      willReconnect: false,
      body: expect.objectContaining({
        error: 'invalid_subject_token',
        reason: 'wrong_audience',
      }),
    });
    expect(reason?.meaning).toContain('invalid_subject_token (wrong_audience)');
    expect(failures).toEqual([
      {
        status: 401,
        endpoint: 'token_exchange',
        body: expect.objectContaining({ error: 'invalid_subject_token', reason: 'wrong_audience' }),
      },
    ]);
    expect(client.state).toBe('closed');
    expect(recorder.stateNames()).toEqual(['connecting', 'closed']);
  }, 60_000);

  it('asks the provider again when the session can no longer be refreshed, and stays connected', async () => {
    // Access tokens of 4 s and refresh tokens of 1 s: every renewal finds a session it cannot
    // refresh. A session past its refresh lifetime is also inactive, which the gateway's
    // periodic re-check would close with 4403 (contract: stop); at its slowest (30 s, counted
    // from this gateway's start) it does not come round before the renewals below are done.
    const shortStack = await startMemoryStack({
      auth: {
        OIDC_ISSUERS: issuers,
        ACCESS_TOKEN_TTL_SECONDS: '4',
        REFRESH_TOKEN_TTL_SECONDS: '1',
      },
      gateway: { AUTH_EXPIRING_LEAD_SECONDS: '2', SESSION_RECHECK_INTERVAL_MS: '30000' },
    });
    const { client, recorder, handedOut } = providerClient(shortStack, 'erin', {
      renewBeforeMs: 1500,
    });
    const first = await client.connect();
    const firstExpiry = Date.parse(first.auth_expires_at);

    await recorder.until(
      () =>
        Date.now() > firstExpiry && recorder.of('reauth_ok').length >= 2 && client.state === 'open',
      'two renewals and the first expiry passed',
      20_000,
    );
    expect(client.connection?.connection_id).toBe(first.connection_id);
    expect(recorder.stateNames()).not.toContain('reconnecting');
    // Each renewal found the 1 s refresh token gone and signed in with a fresh ID token.
    expect(handedOut.length).toBeGreaterThanOrEqual(3);
    expect(new Set(handedOut).size).toBe(handedOut.length);
    const exchanged = serviceLogs(shortStack.auth, 'session started', {
      audit: 'token_exchanged',
    });
    expect(new Set(exchanged.map((l) => l['user_id']))).toEqual(new Set([first.user_id]));
    client.close();
  }, 90_000);
});
