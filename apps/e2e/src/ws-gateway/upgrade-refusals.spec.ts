import { randomBytes } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  Session,
  sleep,
  startAuth,
  USERS,
  startStack,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import {
  closeAll,
  open,
  parseErrorBody,
  rawRequest,
  refused,
  upgradeRequest,
  wsUrl,
} from '../support/ws-client';

/**
 * Contract section 3, row by row: every refusal happens before any 101, with
 * the status bound to its code and a body that parses with ErrorBodySchema.
 * A second auth-service with TICKET_TTL_SECONDS=1 shares the Redis prefix
 * (and the signing keys), so its tickets expire fast but the gateway's own
 * auth-service exchanges them.
 */
describe('ws-gateway refuses bad upgrades before any 101', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let shortLived: AuthStack;
  let gateway: ServiceProcess;
  let alice: Session;
  let url: string;

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis));
    shortLived = await startAuth(redis, {
      TICKET_TTL_SECONDS: '1',
      EXCHANGE_CLIENT_KEYS: stack.key,
      JWT_SIGNING_KEYS: stack.env['JWT_SIGNING_KEYS'],
    });
    alice = await loginAs(stack.auth.url, USERS[0]);
    url = wsUrl(gateway.url);
  });
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  const randomTicket = () => randomBytes(32).toString('base64url');

  describe('400 unsupported_subprotocol', () => {
    it('refuses an offer without agent.v1', async () => {
      const r = await refused(`${url}?ticket=${await alice.ticket()}`, ['chat']);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unsupported_subprotocol');
    });

    it('refuses an offer of only ticket.<t>', async () => {
      const r = await refused(url, [`ticket.${await alice.ticket()}`]);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('unsupported_subprotocol');
    });
  });

  describe('400 invalid_request', () => {
    it('refuses a malformed ticket', async () => {
      const r = await refused(`${url}?ticket=abc`, ['agent.v1']);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_request');
    });

    it('refuses two tickets in the query', async () => {
      const r = await refused(`${url}?ticket=a&ticket=b`, ['agent.v1']);
      expect([r.status, r.body.error]).toEqual([400, 'invalid_request']);
    });

    it('refuses a ticket in the query and another in the subprotocol, burning neither', async () => {
      const [t1, t2] = [await alice.ticket(), await alice.ticket()];
      const r = await refused(`${url}?ticket=${t1}`, ['agent.v1', `ticket.${t2}`]);
      expect([r.status, r.body.error]).toEqual([400, 'invalid_request']);
      const a = await open(`${url}?ticket=${t1}`, ['agent.v1']);
      const b = await open(url, ['agent.v1', `ticket.${t2}`]);
      expect([a.protocol, b.protocol]).toEqual(['agent.v1', 'agent.v1']);
      closeAll([a.ws, b.ws]);
    });

    it.each([
      ['a missing Sec-WebSocket-Key', { 'Sec-WebSocket-Key': undefined }],
      ['a malformed Sec-WebSocket-Key', { 'Sec-WebSocket-Key': 'not-a-key' }],
      ['Sec-WebSocket-Version 8', { 'Sec-WebSocket-Version': '8' }],
      ['a missing Sec-WebSocket-Version', { 'Sec-WebSocket-Version': undefined }],
    ])('answers %s with 400 and a JSON body, never 101', async (_what, headers) => {
      const ticket = await alice.ticket();
      const res = await rawRequest(
        gateway.url,
        upgradeRequest(`/ws?ticket=${ticket}`, {
          'Sec-WebSocket-Protocol': 'agent.v1',
          'X-Request-Id': 'e2e-bad-headers',
          ...headers,
        }),
      );
      expect(res.status).toBe(400);
      expect(res.raw).not.toMatch(/^HTTP\/1\.1 101/);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(parseErrorBody(res.body)).toMatchObject({
        error: 'invalid_request',
        request_id: 'e2e-bad-headers',
      });
      // A bad handshake is refused before the exchange: the ticket still works.
      const ok = await open(`${url}?ticket=${ticket}`, ['agent.v1']);
      closeAll([ok.ws]);
    });
  });

  it('answers 401 ticket_required when no ticket is presented', async () => {
    const r = await refused(url, ['agent.v1']);
    expect([r.status, r.body.error]).toEqual([401, 'ticket_required']);
    const none = await refused(url);
    expect([none.status, none.body.error]).toEqual([401, 'ticket_required']);
  });

  describe('403 ticket_invalid', () => {
    it('refuses a replayed ticket with already_used', async () => {
      const ticket = await alice.ticket();
      const first = await open(`${url}?ticket=${ticket}`, ['agent.v1']);
      const replay = await refused(url, ['agent.v1', `ticket.${ticket}`]);
      expect(replay.status).toBe(403);
      expect(replay.body).toMatchObject({ error: 'ticket_invalid', reason: 'already_used' });
      closeAll([first.ws]);
    });

    it('refuses a well-formed ticket nobody issued with unknown_or_expired', async () => {
      const r = await refused(`${url}?ticket=${randomTicket()}`, ['agent.v1']);
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: 'ticket_invalid', reason: 'unknown_or_expired' });
    });

    it('refuses an expired ticket with unknown_or_expired', async () => {
      const session = await loginAs(shortLived.auth.url, USERS[1]);
      const ticket = await session.ticket();
      await sleep(1500);
      const r = await refused(`${url}?ticket=${ticket}`, ['agent.v1']);
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: 'ticket_invalid', reason: 'unknown_or_expired' });
    });

    it('refuses a ticket bound to another allowed origin with origin_mismatch', async () => {
      const ticket = await alice.ticket('http://localhost:4200');
      const r = await refused(`${url}?ticket=${ticket}`, ['agent.v1'], {
        origin: 'http://127.0.0.1:4200',
      });
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ error: 'ticket_invalid', reason: 'origin_mismatch' });
    });

    it('accepts a ticket bound to an origin from that origin', async () => {
      const ticket = await alice.ticket('http://localhost:4200');
      const ok = await open(`${url}?ticket=${ticket}`, ['agent.v1'], {
        origin: 'http://localhost:4200',
      });
      expect(ok.first.user_id).toBeTruthy();
      closeAll([ok.ws]);
    });
  });

  it('answers 403 origin_forbidden for an origin not allowed', async () => {
    const r = await refused(`${url}?ticket=${await alice.ticket()}`, ['agent.v1'], {
      origin: 'https://evil.example',
    });
    expect([r.status, r.body.error]).toEqual([403, 'origin_forbidden']);
    expect(r.body.reason).toBeUndefined();
  });

  it('answers 404 not_found on another path', async () => {
    const r = await refused(wsUrl(gateway.url, `?ticket=${await alice.ticket()}`, '/nope'), [
      'agent.v1',
    ]);
    expect([r.status, r.body.error]).toEqual([404, 'not_found']);
  });

  it('does not burn a ticket on a refusal that comes before the exchange', async () => {
    const ticket = await alice.ticket();
    const forbidden = await refused(`${url}?ticket=${ticket}`, ['agent.v1'], {
      origin: 'https://evil.example',
    });
    expect(forbidden.body.error).toBe('origin_forbidden');
    const unsupported = await refused(url, ['chat', `ticket.${ticket}`]);
    expect(unsupported.body.error).toBe('unsupported_subprotocol');
    const wrongPath = await refused(wsUrl(gateway.url, `?ticket=${ticket}`, '/elsewhere'));
    expect(wrongPath.body.error).toBe('not_found');
    const ok = await open(url, ['agent.v1', `ticket.${ticket}`]);
    expect(ok.protocol).toBe('agent.v1');
    closeAll([ok.ws]);
  });

  it('echoes X-Request-Id in the refusal header and body', async () => {
    const r = await refused(url, ['agent.v1'], { headers: { 'X-Request-Id': 'e2e-refusal-7' } });
    expect(r.headers['x-request-id']).toBe('e2e-refusal-7');
    expect(r.body.request_id).toBe('e2e-refusal-7');
  });

  it('never writes a ticket it saw to its logs', () => {
    expect(leakedTickets(gateway)).toEqual([]);
    expect(gateway.output()).toContain('upgrade refused');
  });
});
