import { connectTestRedis, TestRedis } from '@admitone/testing';
import type WebSocket from 'ws';
import { AuthStack, loginAs, Session, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { closeAll, closed, closeOf, open, pending, send, wsUrl } from '../support/ws-client';

/**
 * Issue 10 item 8, limits: MESSAGE_RATE_LIMIT per connection (contract 4.3).
 * Messages beyond the rate are answered `rate_limited`; a client that keeps
 * going is closed with 4429. "Keeps going" includes a client that sends at
 * twice the rate, so that every other message is accepted: the strike count
 * used to reset on each accepted message, and such a client was never closed.
 */
const LIMIT = '10/1s';

describe('the per-connection message rate', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let session: Session;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [{ MESSAGE_RATE_LIMIT: LIMIT }]));
    session = await loginAs(stack.auth.url, USERS[0]);
  });
  afterAll(async () => {
    closeAll(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  const openSocket = async () => {
    const { ws } = await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), [
      'agent.v1',
    ]);
    sockets.push(ws);
    return ws;
  };

  /** Sends a ping every `everyMs` until the socket closes or `stop()` is called. */
  function pingEvery(ws: WebSocket, everyMs: number) {
    let sent = 0;
    const timer = setInterval(() => {
      if (closeOf(ws)) return clearInterval(timer);
      send(ws, { type: 'ping' });
      sent += 1;
    }, everyMs);
    return { stop: () => clearInterval(timer), sent: () => sent };
  }

  it('closes with 4429 a client that keeps sending at twice the rate', async () => {
    const ws = await openSocket();
    const pinger = pingEvery(ws, 50); // 20 messages a second against 10
    try {
      expect((await closed(ws, 45_000)).code).toBe(4429);
    } finally {
      pinger.stop();
    }
    const answers = pending(ws);
    // It was a sustained over-limit client, not one burst: many pings were answered.
    expect(answers.filter((m) => m.type === 'pong').length).toBeGreaterThan(10);
    expect(
      answers.filter((m) => m.type === 'error' && m.code === 'rate_limited').length,
    ).toBeGreaterThan(0);
  }, 60_000);

  it('keeps a client that stays within the rate', async () => {
    const ws = await openSocket();
    const pinger = pingEvery(ws, 200); // 5 messages a second against 10
    await new Promise((r) => setTimeout(r, 4000));
    pinger.stop();
    const pongs = () => pending(ws).filter((m) => m.type === 'pong').length;
    const deadline = Date.now() + 10_000;
    while (pongs() < pinger.sent() && !closeOf(ws) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(closeOf(ws)).toBeUndefined();
    expect(pending(ws).filter((m) => m.type === 'error')).toEqual([]);
    expect(pongs()).toBe(pinger.sent());
  }, 30_000);
});
