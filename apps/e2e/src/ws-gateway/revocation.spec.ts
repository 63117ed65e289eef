import { connectTestRedis, TestRedis } from '@admitone/testing';
import { accessTokenClaims, logout } from '../support/auth-client';
import { AuthStack, loginAs, Session, sleep, USERS, startStack } from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closed, closeOf, open, pingPong, refused, wsUrl } from '../support/ws-client';

/**
 * Contract 4.5: a revoked session's sockets close with 4403, on every
 * replica. The fast path is auth-service's Redis pub/sub; the slow path,
 * for a replica that missed the message, is the periodic session re-check.
 */
// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('session revocation closes live sockets with 4403', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateways: ServiceProcess[];
  /** Shares Redis but not the prefix, so it never hears a revocation: only the re-check can close. */
  let deaf: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [...gateways],
    } = await startStack(redis, {}, [
      {},
      {},
      { REDIS_PREFIX: `${redis.prefix}deaf:`, SESSION_RECHECK_INTERVAL_MS: '500' },
    ]));
    deaf = gateways.pop() as ServiceProcess;
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  const openOn = async (gateway: ServiceProcess, session: Session) =>
    (await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), ['agent.v1'])).ws;

  it('closes every socket of a logged-out session on both gateways through pub/sub', async () => {
    const [revoked, kept] = await Promise.all([
      loginAs(stack.auth.url, USERS[0]),
      loginAs(stack.auth.url, USERS[0]),
    ]);
    const doomed = [
      await openOn(gateways[0], revoked),
      await openOn(gateways[1], revoked),
      await openOn(gateways[1], revoked),
    ];
    const survivors = [await openOn(gateways[0], kept), await openOn(gateways[1], kept)];

    expect((await logout(stack.auth.url, revoked.accessToken)).status).toBe(204);
    const closes = await Promise.all(doomed.map((ws) => closed(ws, 20_000)));
    for (const close of closes) expect(close.code).toBe(4403);
    // Each gateway closed them on the pub/sub message (not by its 15 s re-check): it says so.
    const sessionId = accessTokenClaims(revoked.accessToken).sid;
    const closedByMessage = (gateway: ServiceProcess) =>
      gateway
        .logLines()
        .filter((l) => l['msg'] === 'closed sockets of a revoked session')
        .filter((l) => l['session_id'] === sessionId)
        .map((l) => l['closed']);
    await eventually(
      () => gateways.every((g) => closedByMessage(g).length > 0),
      'both gateways to log the revocation message they acted on',
      20_000,
    );
    expect(closedByMessage(gateways[0])).toEqual([1]);
    expect(closedByMessage(gateways[1])).toEqual([2]);

    for (const ws of survivors) {
      expect(closeOf(ws)).toBeUndefined();
      await pingPong(ws);
    }
    closeAll(survivors);
  });

  it('closes a socket on a gateway that missed the pub/sub message by re-checking the session', async () => {
    const [revoked, kept] = await Promise.all([
      loginAs(stack.auth.url, USERS[1]),
      loginAs(stack.auth.url, USERS[1]),
    ]);
    const doomed = await openOn(deaf, revoked);
    const survivor = await openOn(deaf, kept);

    expect((await logout(stack.auth.url, revoked.accessToken)).status).toBe(204);
    expect((await closed(doomed, 20_000)).code).toBe(4403);

    // Survives several further re-checks.
    await sleep(1200);
    expect(closeOf(survivor)).toBeUndefined();
    await pingPong(survivor);
    closeAll([survivor]);
  });

  it('refuses a ticket of a revoked session', async () => {
    const session = await loginAs(stack.auth.url, USERS[2]);
    const ticket = await session.ticket();
    expect((await logout(stack.auth.url, session.accessToken)).status).toBe(204);
    const result = await refused(wsUrl(gateways[0].url, `?ticket=${ticket}`), ['agent.v1']);
    expect(result.status).toBe(403);
    expect(result.body).toMatchObject({ error: 'ticket_invalid', reason: 'session_revoked' });
  });
});
