import type { AgentClient } from '@admitone/client';
import { USERS } from '../support/gateway-stack';
import {
  AppSession,
  ClientStack,
  sdkClient,
  serviceLogs,
  startMemoryStack,
} from '../support/client-stack';
import { stopAllServices } from '../support/service-process';

/**
 * Contract 4.4 through the SDK: access tokens live 4 s and the gateway
 * warns 2 s ahead, so several expiries fit in a test. An app whose
 * getAccessToken refreshes a token about to expire stays connected on one
 * socket; one that cannot refresh is closed with 4401 and, its token now
 * being expired, can get no ticket: the SDK stops with auth_failed.
 */
describe('@admitone/client: expiry and renewal', () => {
  let stack: ClientStack;
  const clients: AgentClient[] = [];

  beforeAll(async () => {
    stack = await startMemoryStack({
      auth: { ACCESS_TOKEN_TTL_SECONDS: '4' },
      gateway: { AUTH_EXPIRING_LEAD_SECONDS: '2', AGENT_STEP_DELAY_MS: '50' },
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await stopAllServices();
  });

  it('renews with reauth before each expiry and stays open on the same socket: open -> renewing -> open', async () => {
    // Refresh whenever the token has under 3 s left: at every renewal, not at login.
    const session = await AppSession.login(stack.authUrl, USERS[0], 3000);
    const { client, recorder } = sdkClient(stack, session, { renewBeforeMs: 1500 });
    clients.push(client);
    const first = await client.connect();
    const firstExpiry = Date.parse(first.auth_expires_at);

    // Past the first expiry with two renewals done, however slow the machine.
    await recorder.until(
      () =>
        Date.now() > firstExpiry && recorder.of('reauth_ok').length >= 2 && client.state === 'open',
      'two renewals and the first expiry passed',
      30_000,
    );

    expect(client.state).toBe('open');
    expect(client.connection?.connection_id).toBe(first.connection_id);
    expect(Date.parse(client.authExpiresAt as string)).toBeGreaterThan(Date.now());
    const names = recorder.stateNames();
    expect(names).not.toContain('reconnecting');
    expect(names.slice(0, 4)).toEqual(['connecting', 'open', 'renewing', 'open']);
    expect(recorder.of('reauth_ok').length).toBeGreaterThanOrEqual(2);
    expect(session.refreshes).toBeGreaterThanOrEqual(2);
    // The state change back to open carries the new expiry.
    const reopened = recorder.states.filter((s) => s.state === 'open').slice(1);
    for (const change of reopened)
      expect(Date.parse(change.authExpiresAt as string)).toBeGreaterThan(firstExpiry);

    // Still a working connection.
    const results: string[] = [];
    client.on('agent_completed', (e) => results.push(e.result));
    client.chat('What is 6 * 7?');
    await recorder.until(() => results.length === 1, 'agent_completed');
    expect(results[0]).toContain('42');
    expect(
      serviceLogs(stack.gateway, 'connection closed', { connection_id: first.connection_id }),
    ).toEqual([]);
    for (const line of recorder.logLines)
      for (const token of session.handedOut) expect(line).not.toContain(token);
    client.close();
  });

  it('when the app cannot refresh, the 4401 at expiry leads to a ticket request that fails: closed, auth_failed', async () => {
    // Never refreshes: every ticket carries the login token's expiry.
    const session = await AppSession.login(stack.authUrl, USERS[1], 'never');
    const { client, recorder } = sdkClient(stack, session);
    clients.push(client);
    const first = await client.connect();
    const expiry = Date.parse(first.auth_expires_at);

    await recorder.until(() => client.state === 'closed', 'the client to stop', 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiry - 100);
    const reconnecting = recorder.states.find((s) => s.state === 'reconnecting');
    expect(reconnecting).toMatchObject({
      attempt: 0,
      reason: { reason: 'auth_expired', code: 4401, action: 'reconnect_now', willReconnect: true },
    });
    expect(recorder.states.at(-1)).toMatchObject({
      state: 'closed',
      reason: { reason: 'auth_failed', status: 401, willReconnect: false },
    });
    expect(recorder.of('auth_failed')).toEqual([
      expect.objectContaining({
        status: 401,
        body: expect.objectContaining({ error: 'invalid_token' }),
      }),
    ]);
    // Renewal could not extend the expiry; the SDK did not loop on auth_expiring.
    expect(recorder.of('reauth_ok').length).toBeLessThanOrEqual(1);
  });

  it('reconnects at once with a new ticket after 4401 when the app refreshes only an expired token', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[2], 0);
    const { client, recorder } = sdkClient(stack, session);
    clients.push(client);
    const first = await client.connect();

    await recorder.until(
      () => recorder.of('connection_established').length === 2,
      'a second connection',
      10_000,
    );
    expect(recorder.states.find((s) => s.state === 'reconnecting')).toMatchObject({
      attempt: 0,
      reason: { reason: 'auth_expired', code: 4401, willReconnect: true },
    });
    expect(recorder.states.find((s) => s.state === 'reconnecting')?.delayMs).toBeLessThanOrEqual(
      100,
    );
    const second = client.connection;
    expect(second?.connection_id).not.toBe(first.connection_id);
    expect(Date.parse(second?.auth_expires_at as string)).toBeGreaterThan(
      Date.parse(first.auth_expires_at),
    );
    expect(session.refreshes).toBe(1);
    expect(client.state).toBe('open');
    client.close();
  });
});
