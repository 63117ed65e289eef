import { randomBytes } from 'node:crypto';
import { clientMessageArb, hostileFrameArb } from '@admitone/agent-events/testing';
import { statusOf } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import fc from 'fast-check';
import type WebSocket from 'ws';
import { getJson } from '../support/auth-client';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  metricsText,
  metricValue,
  Session,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeOf,
  nextOfType,
  open,
  parseErrorBody,
  rawRequest,
  send,
  upgradeRequest,
  wsUrl,
} from '../support/ws-client';

/**
 * Random upgrade headers and random frames against one running gateway.
 * Whatever arrives: no 5xx, no close code 1011, the process keeps running,
 * every refusal is the contract's JSON body with the status bound to its
 * code, and no answer ever carries a ticket.
 */
const SECTION_3_CODES = [
  'unsupported_subprotocol',
  'invalid_request',
  'ticket_required',
  'ticket_invalid',
  'origin_forbidden',
  'rate_limited',
];

/** Characters a request target may carry unencoded (no space, no fragment). */
const TARGET_CHARS = [
  ...'!$%&\'()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"<>',
];
const targetText = fc.string({ unit: fc.constantFrom(...TARGET_CHARS), maxLength: 80 });
const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 120 });
const ticketLike = fc.oneof(
  { weight: 2, arbitrary: fc.constant('VALID') },
  fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((bytes) => Buffer.from(bytes).toString('base64url')),
  fc.base64String({ minLength: 40, maxLength: 48 }).map((s) => s.replace(/=+$/, '')),
  fc.string({ unit: fc.constantFrom(...'ABCxyz019_-'), minLength: 0, maxLength: 140 }),
);
const protocolItem = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('agent.v1', 'chat', 'agent.v2', 'AGENT.V1', '') },
  ticketLike.map((t) => `ticket.${t}`),
  headerText,
);

const upgradeArb = fc.record({
  query: fc.oneof(
    fc.constant(''),
    targetText.map((q) => `?${q}`),
    ticketLike.map((t) => `?ticket=${t}`),
    fc.tuple(ticketLike, ticketLike).map(([a, b]) => `?ticket=${a}&ticket=${b}`),
  ),
  protocol: fc.option(
    fc.oneof(headerText, {
      weight: 3,
      arbitrary: fc.array(protocolItem, { maxLength: 4 }).map((p) => p.join(', ')),
    }),
    { nil: undefined, freq: 3 },
  ),
  origin: fc.option(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('http://localhost:4200', 'http://127.0.0.1:4200') },
      fc.constantFrom(
        'https://evil.example',
        'null',
        'HTTP://LOCALHOST:4200',
        'http://localhost:4200/',
      ),
      fc.webUrl(),
      headerText,
    ),
    { nil: undefined, freq: 2 },
  ),
  requestId: fc.option(headerText, { nil: undefined }),
});

/** Turns any value the hostile arbitrary makes into something a client can send. */
function asFrame(value: unknown): { data: string | Buffer; binary: boolean } {
  if (typeof value === 'string') return { data: value, binary: false };
  if (value instanceof Uint8Array) return { data: Buffer.from(value), binary: true };
  try {
    return { data: JSON.stringify(value) ?? String(value), binary: false };
  } catch {
    return { data: Object.prototype.toString.call(value), binary: false };
  }
}

describe('ws-gateway under random input', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  let session: Session;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis, { TICKET_RATE_LIMIT: '100000/60s' }, [
      {
        UPGRADE_RATE_LIMIT: '100000/60s',
        MESSAGE_RATE_LIMIT: '100000/1s',
        MAX_CONNECTIONS_PER_USER: '1000',
      },
    ]));
    session = await loginAs(stack.auth.url, USERS[0]);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('answers random upgrade headers with a 101 or a contract refusal, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(upgradeArb, async ({ query, protocol, origin, requestId }) => {
        const needsTicket = query.includes('VALID') || (protocol ?? '').includes('VALID');
        const ticket = needsTicket ? await session.ticket() : randomBytes(32).toString('base64url');
        const res = await rawRequest(
          gateway.url,
          upgradeRequest(`/ws${query.replaceAll('VALID', ticket)}`, {
            'Sec-WebSocket-Protocol': protocol?.replaceAll('VALID', ticket),
            Origin: origin,
            'X-Request-Id': requestId,
          }),
        );
        expect(res.status).toBeGreaterThanOrEqual(101);
        expect(res.status).toBeLessThan(500);
        expect(res.raw).not.toContain(ticket);
        if (res.status === 101) {
          expect([undefined, 'agent.v1']).toContain(res.headers['sec-websocket-protocol']);
          return;
        }
        const body = parseErrorBody(res.body);
        expect(SECTION_3_CODES).toContain(body.error);
        expect(res.status).toBe(statusOf(body.error));
        expect(res.headers['x-request-id']).toBe(body.request_id);
      }),
      { numRuns: 150 },
    );
    expect(gateway.child.exitCode).toBeNull();
  });

  it('survives random frames: answers or closes with a contract code, never 1011', async () => {
    let ws: WebSocket | undefined;
    const closes: number[] = [];
    const socket = async () => {
      if (!ws || closeOf(ws)) {
        ws = (await open(wsUrl(gateway.url, `?ticket=${await session.ticket()}`), ['agent.v1'])).ws;
      }
      return ws;
    };
    const frameArb = fc.oneof(
      { weight: 3, arbitrary: hostileFrameArb.map(asFrame) },
      { weight: 1, arbitrary: clientMessageArb.map(asFrame) },
    );
    await fc.assert(
      fc.asyncProperty(frameArb, async (frame) => {
        const target = await socket();
        target.send(frame.data, { binary: frame.binary });
        send(target, { type: 'ping', client_msg_id: 'fuzz-sync' });
        // Every frame the server sends must parse with the contract (the inbox checks it).
        const pong = await nextOfType(target, 'pong', 5000).catch(() => undefined);
        const close = closeOf(target);
        if (close) {
          closes.push(close.code);
          expect([1008, 1009]).toContain(close.code);
        } else {
          expect(pong?.type).toBe('pong');
        }
      }),
      { numRuns: 150 },
    );
    ws?.terminate();
    expect(closes).not.toContain(1011);

    const metrics = await metricsText(gateway);
    expect(metricValue(metrics, 'ws_closes_total', { code: '1011' })).toBe(0);
    expect(metricValue(metrics, 'ws_upgrades_total', { result: 'internal_error' })).toBe(0);
    expect((await getJson(`${gateway.url}/health/live`)).status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();
    expect(leakedTickets(gateway)).toEqual([]);
  });
});
