import type { AgentClient, FetchLike } from '@admitone/client';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { logout } from '../support/auth-client';
import { USERS } from '../support/gateway-stack';
import {
  AppSession,
  ClientStack,
  sdkClient,
  serviceLogs,
  sleep,
  startRedisStack,
} from '../support/client-stack';
import { eventually, stopAllServices } from '../support/service-process';

/**
 * The two ways authentication ends for good, through the SDK: a revoked
 * session closes the live socket with 4403 (stop, go to login), and a
 * refused upgrade, which a browser sees only as 1006, is recognised as an
 * auth failure when the ticket endpoint then answers 401. Revocations
 * travel over Redis pub/sub, so this runs the Redis stack (no chat here,
 * so no agent-worker).
 */
describe('@admitone/client: revoked sessions and refused upgrades', () => {
  let redis: TestRedis;
  let stack: ClientStack;
  const clients: AgentClient[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startRedisStack(redis, { worker: false });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await stopAllServices();
    await redis.cleanup();
  });

  it('on logout the socket closes with 4403: state closed (session_revoked), session_revoked emitted, no reconnect', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[0]);
    const { client, recorder } = sdkClient(stack, session);
    clients.push(client);
    const { connection_id } = await client.connect();
    const revoked: unknown[] = [];
    client.on('session_revoked', (reason) => revoked.push(reason));

    expect((await logout(stack.authUrl, session.token)).status).toBe(204);
    await recorder.until(() => client.state === 'closed', 'the client to close', 5000);

    expect(recorder.states.at(-1)).toMatchObject({
      state: 'closed',
      previous: 'open',
      reason: { reason: 'session_revoked', code: 4403, action: 'login', willReconnect: false },
    });
    expect(revoked).toEqual([expect.objectContaining({ reason: 'session_revoked', code: 4403 })]);
    const asked = session.handedOut.length;
    await sleep(1500);
    expect(session.handedOut).toHaveLength(asked);
    expect(recorder.stateNames()).not.toContain('reconnecting');
    await eventually(
      () => serviceLogs(stack.gateway, 'connection closed', { connection_id }).length === 1,
      'the gateway to log the close',
    );
    expect(serviceLogs(stack.gateway, 'connection closed', { connection_id })[0]).toMatchObject({
      close_code: 4403,
    });
  });

  it('tells a refused upgrade (1006) apart by asking for a ticket again: 401 -> closed with auth_failed', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[1]);
    // The app logs out in the instant between getting a ticket and using it:
    // the ticket is then refused at the upgrade (403 ticket_invalid, session_revoked).
    let loggedOut = false;
    const racingFetch: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (!loggedOut && url.endsWith('/websocket/ticket') && res.status === 201) {
        loggedOut = true;
        expect((await logout(stack.authUrl, session.token)).status).toBe(204);
      }
      return res;
    };
    const { client, recorder } = sdkClient(stack, session, { fetch: racingFetch });
    clients.push(client);

    await expect(client.connect()).rejects.toMatchObject({
      code: 'closed',
      reason: { reason: 'auth_failed', status: 401 },
    });

    expect(recorder.stateNames()).toEqual(['connecting', 'reconnecting', 'closed']);
    expect(recorder.states[1]).toMatchObject({
      attempt: 0,
      reason: { reason: 'abnormal', code: 1006, action: 'reconnect_backoff', willReconnect: true },
    });
    expect(recorder.states[2]).toMatchObject({
      reason: { reason: 'auth_failed', code: 1006, status: 401, willReconnect: false },
    });
    expect(recorder.of('auth_failed')).toEqual([
      {
        status: 401,
        endpoint: 'ticket',
        body: expect.objectContaining({ error: 'invalid_token' }),
      },
    ]);
    await eventually(
      () =>
        serviceLogs(stack.gateway, 'upgrade refused', {
          result: 'ticket_invalid',
          reason: 'session_revoked',
        }).length === 1,
      'the gateway to log the refusal',
    );
    const asked = session.handedOut.length;
    await sleep(1000);
    expect(session.handedOut).toHaveLength(asked);
  });

  it('fails connect() with auth_failed when the access token is no good at all', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[2]);
    const { client, recorder } = sdkClient(stack, session, { getAccessToken: () => 'not-a-jwt' });
    clients.push(client);
    await expect(client.connect()).rejects.toMatchObject({
      reason: { reason: 'auth_failed', status: 401, willReconnect: false },
    });
    expect(recorder.stateNames()).toEqual(['connecting', 'closed']);
    expect(serviceLogs(stack.gateway, 'upgrade refused', { result: 'ticket_required' })).toEqual(
      [],
    );
  });
});
