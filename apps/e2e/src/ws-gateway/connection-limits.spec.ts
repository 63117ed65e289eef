import { ServerMessage } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type WebSocket from 'ws';
import { AuthStack, loginAs, sleep, USERS, startStack } from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  closed,
  connect,
  nextMessage,
  open,
  pending,
  pingPong,
  refused,
  send,
  violationsOf,
  wsUrl,
} from '../support/ws-client';

/**
 * The per-connection message rate (rate_limited, then 4429), the
 * connections-per-user cap and the per-address upgrade rate (429 with
 * Retry-After, refused before the exchange so the ticket survives).
 */
describe('ws-gateway limits', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let strict: ServiceProcess;
  let upgradeLimited: ServiceProcess;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [strict, upgradeLimited],
    } = await startStack(redis, {}, [
      { MESSAGE_RATE_LIMIT: '5/10s', MAX_CONNECTIONS_PER_USER: '2' },
      // A prefix of its own: the upgrade counter is not shared with the other gateway.
      { UPGRADE_RATE_LIMIT: '3/60s', REDIS_PREFIX: `${redis.prefix}limited:` },
    ]));
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  describe('message rate (5 per 10 s)', () => {
    it('answers a short burst past the rate with rate_limited and keeps the socket', async () => {
      const session = await loginAs(stack.auth.url, USERS[0]);
      const { ws } = await open(wsUrl(strict.url, `?ticket=${await session.ticket()}`), [
        'agent.v1',
      ]);
      for (let i = 0; i < 6; i++) send(ws, { type: 'ping' });
      const answers: ServerMessage[] = [];
      for (let i = 0; i < 6; i++) answers.push(await nextMessage(ws));
      expect(answers.filter((m) => m.type === 'pong').length).toBeGreaterThanOrEqual(5);
      expect(answers).toContainEqual(
        expect.objectContaining({ type: 'error', code: 'rate_limited' }),
      );
      // Tokens come back at 0.5/s.
      await sleep(2200);
      await pingPong(ws);
      closeAll([ws]);
    });

    it('closes a persisting flood with 4429', async () => {
      const session = await loginAs(stack.auth.url, USERS[1]);
      const { ws } = await open(wsUrl(strict.url, `?ticket=${await session.ticket()}`), [
        'agent.v1',
      ]);
      for (let i = 0; i < 30; i++) send(ws, { type: 'ping', client_msg_id: `f-${i}` });
      const close = await closed(ws);
      expect(close.code).toBe(4429);
      // The socket is closed: everything the server sent before the close is in its inbox.
      const answers: ServerMessage[] = pending(ws);
      expect(violationsOf(ws)).toEqual([]);
      // Answers to the accepted pings are asynchronous and may trail the errors.
      const errors = answers.filter((m) => m.type === 'error');
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(errors.length).toBeLessThan(25);
      for (const e of errors) expect(e).toMatchObject({ type: 'error', code: 'rate_limited' });
      expect(answers.every((m) => m.type === 'error' || m.type === 'pong')).toBe(true);
    });
  });

  it('refuses a third connection of one user with 429 rate_limited', async () => {
    const session = await loginAs(stack.auth.url, USERS[2]);
    const url = async () => wsUrl(strict.url, `?ticket=${await session.ticket()}`);
    const a = await open(await url(), ['agent.v1']);
    const b = await open(await url(), ['agent.v1']);
    const third = await refused(await url(), ['agent.v1']);
    expect(third.status).toBe(429);
    expect(third.body.error).toBe('rate_limited');
    expect(third.headers['retry-after']).toMatch(/^\d+$/);

    a.ws.close(1000);
    await closed(a.ws);
    const replacements: WebSocket[] = [];
    await eventually(async () => {
      const result = await connect(await url(), ['agent.v1']);
      if (result.kind === 'open') replacements.push(result.ws);
      else expect(result.kind === 'refused' && result.body.error).toBe('rate_limited');
      return result.kind === 'open';
    }, 'a slot to free up once a connection closed');
    expect(replacements).toHaveLength(1);
    closeAll([b.ws, ...replacements]);
  });

  it('refuses upgrades past UPGRADE_RATE_LIMIT with 429 and Retry-After, before the exchange', async () => {
    const session = await loginAs(stack.auth.url, USERS[3]);
    const url = (ticket: string) => wsUrl(upgradeLimited.url, `?ticket=${ticket}`);
    const opened = [];
    for (let i = 0; i < 3; i++) opened.push(await open(url(await session.ticket()), ['agent.v1']));
    const ticket = await session.ticket();
    const limited = await refused(url(ticket), ['agent.v1']);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    // The limited attempt never reached auth-service: the ticket still opens elsewhere.
    const elsewhere = await open(wsUrl(strict.url, `?ticket=${ticket}`), ['agent.v1']);
    closeAll([...opened.map((o) => o.ws), elsewhere.ws]);
  });
});
