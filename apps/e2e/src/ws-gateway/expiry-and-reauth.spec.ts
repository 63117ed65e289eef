import { randomBytes } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  sleep,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  closed,
  closeOf,
  nextOfType,
  open,
  pingPong,
  send,
  wsUrl,
} from '../support/ws-client';

/**
 * Contract 4.4: a connection's authentication lasts until the `exp` of the
 * access token that minted its ticket. Access tokens here live 8 s and the
 * gateway warns 3 s ahead, so a whole expiry fits in a test and a loaded
 * machine still opens the socket and talks to it well before its expiry.
 * Waits are event-driven with generous limits; what is asserted is order
 * (warning, then the close) and that nothing closes early, not latency.
 */
const TTL_SECONDS = 8;

jest.setTimeout(120_000);

describe('connection expiry and in-band renewal', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let url: string;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, { ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) }, [
      { AUTH_EXPIRING_LEAD_SECONDS: '3' },
    ]));
    url = wsUrl(gateway.url);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('sends auth_expiring ahead of expiry, then closes with 4401 at expiry', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const { ws, first } = await open(`${url}?ticket=${await session.ticket()}`, ['agent.v1']);
    const expiresAt = Date.parse(first.auth_expires_at);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(TTL_SECONDS * 1000);

    // The warning comes first, on the open socket; the close follows it.
    const warning = await nextOfType(ws, 'auth_expiring', 30_000);
    expect(warning.auth_expires_at).toBe(first.auth_expires_at);

    const close = await closed(ws, 30_000);
    expect(close.code).toBe(4401);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 100);
  });

  it('renews with reauth and a fresh ticket: reauth_ok, a later expiry, open past the old one', async () => {
    // Token expiries have one-second resolution: the renewing login comes a second later.
    const first = await loginAs(stack.auth.url, USERS[1]);
    const ticket = await first.ticket();
    await sleep(1100);
    const again = await loginAs(stack.auth.url, USERS[1]);
    const fresh = await again.ticket();

    const { ws, first: established } = await open(`${url}?ticket=${ticket}`, ['agent.v1']);
    const oldExpiry = Date.parse(established.auth_expires_at);
    send(ws, { type: 'reauth', ticket: fresh, client_msg_id: 'renew-1' });
    const ok = await nextOfType(ws, 'reauth_ok');
    const newExpiry = Date.parse(ok.auth_expires_at);
    expect(newExpiry).toBeGreaterThan(oldExpiry);

    await sleep(Math.max(0, oldExpiry - Date.now()) + 500);
    expect(closeOf(ws)).toBeUndefined();
    await pingPong(ws);

    const close = await closed(ws, newExpiry - Date.now() + 30_000);
    expect(close.code).toBe(4401);
    expect(Date.now()).toBeGreaterThanOrEqual(newExpiry - 100);
  });

  it('answers a garbage, replayed or foreign ticket with reauth_failed and keeps the socket and its expiry', async () => {
    // Everything that needs a login or an upgrade happens first: the socket lives 8 s.
    const mallory = await loginAs(stack.auth.url, USERS[3]);
    const foreign = await mallory.ticket();
    const session = await loginAs(stack.auth.url, USERS[2]);
    const used = await session.ticket();
    const other = await open(`${url}?ticket=${used}`, ['agent.v1']);
    const { ws, first } = await open(`${url}?ticket=${await session.ticket()}`, ['agent.v1']);
    const expiresAt = Date.parse(first.auth_expires_at);

    const attempts = [
      { ticket: 'garbage', client_msg_id: 'garbage-1' },
      { ticket: randomBytes(32).toString('base64url'), client_msg_id: 'unknown-1' },
      // Already consumed by another upgrade.
      { ticket: used, client_msg_id: 'replay-1' },
      // Valid, but another user's: must not move this socket to that user.
      { ticket: foreign, client_msg_id: 'foreign-1' },
    ];
    for (const attempt of attempts) {
      send(ws, { type: 'reauth', ...attempt });
      // (auth_expiring may arrive in between: this socket is close to its expiry.)
      expect(await nextOfType(ws, 'error')).toMatchObject({
        type: 'error',
        code: 'reauth_failed',
        ref: attempt.client_msg_id,
      });
    }
    closeAll([other.ws]);

    await pingPong(ws);
    const close = await closed(ws, expiresAt - Date.now() + 30_000);
    expect(close.code).toBe(4401);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 100);
  });

  it('never logs a ticket', () => {
    expect(leakedTickets(gateway)).toEqual([]);
  });
});
