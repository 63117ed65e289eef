import { ServerMessage } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AuthStack, loginAs, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closeOf, nextMessage, open, refused, send, wsUrl } from '../support/ws-client';

/**
 * Issue 16 row 7: what each limit is counted per.
 * - UPGRADE_RATE_LIMIT per client address. Behind one trusted proxy hop
 *   (TRUST_PROXY_HOPS=1) the address is the X-Forwarded-For entry the proxy
 *   appended, so two clients behind the same proxy (one TCP peer here) are
 *   counted apart, and a client cannot escape its count by sending a forged
 *   entry of its own to the left.
 * - MESSAGE_RATE_LIMIT per connection: one socket's burst does not limit
 *   another socket of the same user.
 */
// Windows long enough that no token comes back during the test, however slow the machine.
const CLIENT_A = '203.0.113.7';
const CLIENT_B = '198.51.100.9';

// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('the scope of the upgrade and message rate limits', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let proxied: ServiceProcess;
  let messageLimited: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [proxied, messageLimited],
    } = await startStack(redis, {}, [
      // A prefix of its own: its upgrade counters are not shared with the other gateway.
      {
        TRUST_PROXY_HOPS: '1',
        UPGRADE_RATE_LIMIT: '3/3600s',
        REDIS_PREFIX: `${redis.prefix}proxied:`,
      },
      { MESSAGE_RATE_LIMIT: '5/600s' },
    ]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('limits upgrades per X-Forwarded-For client behind one trusted hop', async () => {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const via = async (forwardedFor: string) => ({
      url: wsUrl(proxied.url, `?ticket=${await session.ticket()}`),
      options: { headers: { 'x-forwarded-for': forwardedFor }, timeoutMs: 20_000 },
    });
    const opened = [];
    for (let i = 0; i < 3; i++) {
      const a = await via(CLIENT_A);
      opened.push((await open(a.url, ['agent.v1'], a.options)).ws);
    }
    const a = await via(CLIENT_A);
    const limited = await refused(a.url, ['agent.v1'], a.options);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A forged entry to the left of what the proxy appended changes nothing.
    const forged = await via(`${CLIENT_B}, ${CLIENT_A}`);
    expect((await refused(forged.url, ['agent.v1'], forged.options)).body.error).toBe(
      'rate_limited',
    );

    // Client B, behind the same proxy (the same TCP peer), has a count of its own.
    const b = await via(CLIENT_B);
    opened.push((await open(b.url, ['agent.v1'], b.options)).ws);
    closeAll(opened);
  });

  it('limits messages per connection: a burst on one socket leaves the other alone', async () => {
    const session = await loginAs(stack.auth.url, USERS[1]);
    const url = async () => wsUrl(messageLimited.url, `?ticket=${await session.ticket()}`);
    const first = (await open(await url(), ['agent.v1'])).ws;
    const second = (await open(await url(), ['agent.v1'])).ws;
    const answers = async (ws: typeof first, count: number, prefix: string) => {
      for (let i = 0; i < count; i++) send(ws, { type: 'ping', client_msg_id: `${prefix}-${i}` });
      const got: ServerMessage[] = [];
      for (let i = 0; i < count; i++) got.push(await nextMessage(ws, 20_000));
      return got;
    };

    // One over the 5-message burst on the first socket: it is told rate_limited.
    const burst = await answers(first, 6, 'first');
    expect(burst).toContainEqual(expect.objectContaining({ type: 'error', code: 'rate_limited' }));
    // The same user's second socket still has its full burst.
    const other = await answers(second, 5, 'second');
    expect(other.map((m) => m.type)).toEqual(['pong', 'pong', 'pong', 'pong', 'pong']);
    expect(closeOf(first)).toBeUndefined();
    expect(closeOf(second)).toBeUndefined();
    closeAll([first, second]);
  });
});
