import { TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  accessTokenClaims,
  expectError,
  issueTicket,
  listenForRevocations,
  login,
  refresh,
  requestTicket,
  RevocationListener,
} from '../support/auth-client';
import { usersCli } from '../support/faults';
import { AuthStack, loginAs, PASSWORD, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closed, closeOf, open, pingPong, wsUrl } from '../support/ws-client';

/**
 * Issue 16 row 3, contract 4.5: besides logout, a session is revoked when
 * its user is disabled (the users CLI, as an operator does it) and when a
 * rotated refresh token is presented again. Either way its live sockets
 * close with 4403, while other users' sockets stay.
 *
 * REFRESH_REUSE_INTERVAL_SECONDS=0 turns off any reuse grace interval, and
 * the reused token is two rotations old, so the reuse is never taken for a
 * client retrying within a grace.
 */
// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('revocation of live sockets for user_disabled and refresh-token reuse', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let revocations: RevocationListener;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, { REFRESH_REUSE_INTERVAL_SECONDS: '0' }));
    revocations = await listenForRevocations(redis);
  });
  afterAll(async () => {
    await revocations?.close();
    await stopAllServices();
    await redis.cleanup();
  });

  const openWith = async (ticket: string) =>
    (await open(wsUrl(gateway.url, `?ticket=${ticket}`), ['agent.v1'])).ws;

  it('closes a disabled user’s sockets with 4403 and keeps everyone else’s', async () => {
    const [doomed, bystander] = await Promise.all([
      loginAs(stack.auth.url, USERS[0]),
      loginAs(stack.auth.url, USERS[1]),
    ]);
    const sockets = [await openWith(await doomed.ticket()), await openWith(await doomed.ticket())];
    const survivor = await openWith(await bystander.ticket());

    const cli = await usersCli(['disable', USERS[0]], {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
    });
    expect(cli).toMatchObject({ code: 0 });

    for (const ws of sockets) expect((await closed(ws, 20_000)).code).toBe(4403);
    const published = await revocations.publishedFor(accessTokenClaims(doomed.accessToken).sid);
    expect(published.map((m) => m.reason)).toEqual(['user_disabled']);
    // The disabled user's access token no longer buys a ticket; the bystander is untouched.
    expect((await requestTicket(stack.auth.url, doomed.accessToken)).status).toBe(401);
    expect(closeOf(survivor)).toBeUndefined();
    await pingPong(survivor);
    closeAll([survivor]);
  });

  it('closes the sockets of a session whose rotated refresh token is presented again with 4403', async () => {
    const first = await login(stack.auth.url, USERS[2], PASSWORD);
    const sessionId = accessTokenClaims(first.access_token).sid;
    const other = await loginAs(stack.auth.url, USERS[2]);
    // Rotate twice: the first refresh token is now two generations old.
    const second = TokenResponseSchema.parse(
      (await refresh(stack.auth.url, first.refresh_token)).body,
    );
    const third = TokenResponseSchema.parse(
      (await refresh(stack.auth.url, second.refresh_token)).body,
    );
    expect(accessTokenClaims(third.access_token).sid).toBe(sessionId);
    const ws = await openWith(await issueTicket(stack.auth.url, third.access_token));
    const survivor = await openWith(await other.ticket());

    expectError(await refresh(stack.auth.url, first.refresh_token), 'refresh_token_reused');

    expect((await closed(ws, 20_000)).code).toBe(4403);
    const published = await revocations.publishedFor(sessionId);
    expect(published.map((m) => m.reason)).toEqual(['refresh_token_reused']);
    // The whole session is gone: its newest refresh token is refused too.
    expect((await refresh(stack.auth.url, third.refresh_token)).status).toBe(401);
    // Another session of the same user is not.
    expect(closeOf(survivor)).toBeUndefined();
    await pingPong(survivor);
    closeAll([survivor]);
  });
});
