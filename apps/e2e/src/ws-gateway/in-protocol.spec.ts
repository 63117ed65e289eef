import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  loginAs,
  metricsText,
  metricValue,
  Session,
  sleep,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  closed,
  closeOf,
  nextMessage,
  open,
  pingPong,
  send,
  wsUrl,
} from '../support/ws-client';

/**
 * Contract 4.2 and 4.3 on a live socket: answers to ping and to every kind of
 * bad frame (the socket lives), and the three ways a socket is closed for
 * misbehaving: repeated invalid messages (1008), an oversized frame (1009)
 * and a reader too slow to keep up (1013). The message rate is effectively
 * unlimited here so only the behaviour under test can close a socket.
 */
describe('agent.v1 frames on an open socket', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let session: Session;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, {}, [
      { MESSAGE_RATE_LIMIT: '1000000/1s', MAX_BUFFERED_BYTES: '65536' },
    ]));
    session = await loginAs(stack.auth.url, USERS[0]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  const openSocket = async () =>
    (await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), ['agent.v1'])).ws;

  it('answers ping with pong and ignores unknown fields', async () => {
    const ws = await openSocket();
    const pong = await pingPong(ws);
    expect(Math.abs(Date.parse(pong.ts) - Date.now())).toBeLessThan(10_000);
    send(ws, { type: 'ping', client_msg_id: 'p-1', extra: { deep: [1, 2] } });
    expect(await nextMessage(ws)).toMatchObject({ type: 'pong' });
    closeAll([ws]);
  });

  it.each([
    ['invalid JSON', '{"type":"ping",', { code: 'invalid_json' }],
    [
      'an unknown type',
      { type: 'teleport', client_msg_id: 'u-1' },
      { code: 'unknown_type', ref: 'u-1' },
    ],
    [
      'a missing field',
      { type: 'resume', client_msg_id: 'r-1' },
      { code: 'invalid_message', ref: 'r-1' },
    ],
    [
      'a field of the wrong type',
      { type: 'cancel', run_id: 42, client_msg_id: 'c-1' },
      { code: 'invalid_message', ref: 'c-1' },
    ],
    [
      'an empty chat',
      { type: 'chat', content: '', client_msg_id: 'ch-1' },
      { code: 'invalid_message', ref: 'ch-1' },
    ],
    ['a JSON array', '[1,2,3]', { code: 'invalid_message' }],
    ['a message without type', { client_msg_id: 'n-1' }, { code: 'invalid_message', ref: 'n-1' }],
  ])('answers %s with an error event and keeps the socket open', async (_what, frame, expected) => {
    const ws = await openSocket();
    send(ws, frame);
    const answer = await nextMessage(ws);
    expect(answer).toMatchObject({ type: 'error', ...expected });
    if (!('ref' in expected)) expect(answer).not.toHaveProperty('ref');
    await pingPong(ws);
    expect(closeOf(ws)).toBeUndefined();
    closeAll([ws]);
  });

  it('answers a binary frame with invalid_message and keeps the socket open', async () => {
    const ws = await openSocket();
    ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect(await nextMessage(ws)).toMatchObject({ type: 'error', code: 'invalid_message' });
    await pingPong(ws);
    closeAll([ws]);
  });

  it('closes with 1008 after 10 invalid messages', async () => {
    const ws = await openSocket();
    for (let i = 0; i < 10; i++) send(ws, { type: 'nope', client_msg_id: `bad-${i}` });
    const errors = [];
    for (let i = 0; i < 9; i++) errors.push(await nextMessage(ws));
    expect(errors.every((e) => e.type === 'error' && e.code === 'unknown_type')).toBe(true);
    expect((await closed(ws)).code).toBe(1008);
  });

  it('closes with 1009 on a frame over 64 KiB', async () => {
    const ws = await openSocket();
    await pingPong(ws);
    send(ws, { type: 'ping', pad: 'x'.repeat(64 * 1024) });
    expect((await closed(ws)).code).toBe(1009);
  });

  it('closes a reader too slow to keep up with 1013', async () => {
    const ws = await openSocket();
    // Stop reading: the server's answers pile up in the kernel, then in its buffer.
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const closedWith1013 = async () =>
      metricValue(await metricsText(gateway), 'ws_closes_total', { code: '1013' }) > 0;
    const deadline = Date.now() + 40_000;
    let sent = 0;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      // Do not outrun the server's reading: keep our own unsent bytes bounded.
      if (ws.bufferedAmount < 256 * 1024 && sent < 400_000) {
        for (let i = 0; i < 1000; i++) ws.send('{"type":"ping"}');
        sent += 1000;
        await new Promise((r) => setImmediate(r));
      } else {
        await sleep(20);
      }
      if (sent % 10_000 === 0) seen = await closedWith1013();
    }
    if (!seen) await eventually(closedWith1013, 'the gateway to close the slow reader with 1013');
    expect(sent).toBeGreaterThan(1000);
    socket.resume();
    // The close frame queued behind what we did not read; the server does not wait for it.
    expect([1013, 1006]).toContain((await closed(ws, 20_000)).code);
    expect(gateway.child.exitCode).toBeNull();
  });
});
