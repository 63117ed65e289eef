import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentEvent,
  ClientMessage,
  parseClientMessage,
  ServerMessage,
} from '@admitone/agent-events';
import WebSocket, { WebSocketServer } from 'ws';
import { AgentClient, AgentClientError } from './agent-client';
import type { StateChange } from './client-types';
import type { AgentClientOptions } from './options/client-options';

/**
 * The client's state machine against a stand-in gateway: a real `ws`
 * server and a real HTTP ticket endpoint in this process, scripted per
 * test to produce what the real services cannot be made to do on demand
 * (malformed frames, replays, a reauth_failed twice, a 429 with
 * Retry-After, a silent peer). The real services are exercised in
 * apps/e2e/src/client.
 */
interface Peer {
  ws: WebSocket;
  ticket: string;
  carrier: 'query' | 'subprotocol';
  offered: string[];
  url: string;
  received: ClientMessage[];
  closed?: { code: number };
}

interface StandIn {
  authUrl: string;
  gatewayUrl: string;
  peers: Peer[];
  tickets: string[];
  tokens: string[];
  /** Status of the next ticket answers (default 201). */
  ticketStatus: number;
  retryAfter?: string;
  /** Upgrades to refuse with this status before accepting again. */
  refuseUpgrades: number;
  /** Runs as an upgrade is refused. */
  onRefuse: () => void;
  onPeer: (peer: Peer) => void;
  close(): Promise<void>;
}

async function standIn(): Promise<StandIn> {
  const state: Omit<StandIn, 'authUrl' | 'gatewayUrl' | 'close'> = {
    peers: [],
    tickets: [],
    tokens: [],
    ticketStatus: 201,
    refuseUpgrades: 0,
    onRefuse: () => undefined,
    onPeer: (peer) => established(peer),
  };
  const http: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/websocket/ticket') {
      res.writeHead(404).end();
      return;
    }
    state.tokens.push(String(req.headers.authorization).replace(/^Bearer /, ''));
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (state.retryAfter) headers['retry-after'] = state.retryAfter;
    if (state.ticketStatus !== 201) {
      res.writeHead(state.ticketStatus, headers).end(
        JSON.stringify({
          error: state.ticketStatus === 401 ? 'invalid_token' : 'rate_limited',
          message: 'no',
          request_id: 'r',
        }),
      );
      return;
    }
    const ticket = randomBytes(32).toString('base64url');
    state.tickets.push(ticket);
    res.writeHead(201, headers).end(
      JSON.stringify({
        ticket,
        expires_in: 30,
        expires_at: new Date(Date.now() + 30_000).toISOString(),
      }),
    );
  });
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered) => (offered.has('agent.v1') ? 'agent.v1' : false),
    verifyClient: (_info, done) => {
      if (state.refuseUpgrades > 0) {
        state.refuseUpgrades -= 1;
        state.onRefuse();
        done(false, 503, 'unavailable');
      } else done(true);
    },
  });
  wss.on('connection', (ws, req: IncomingMessage) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const fromQuery = new URL(req.url ?? '/', 'http://x').searchParams.get('ticket');
    const fromProtocol = offered.find((p) => p.startsWith('ticket.'))?.slice('ticket.'.length);
    const peer: Peer = {
      ws,
      ticket: fromQuery ?? fromProtocol ?? '',
      carrier: fromQuery ? 'query' : 'subprotocol',
      offered,
      url: req.url ?? '',
      received: [],
    };
    ws.on('message', (data) => {
      const parsed = parseClientMessage(data);
      if (!parsed.ok) throw new Error(`the client sent an invalid frame: ${parsed.error.message}`);
      peer.received.push(parsed.message);
    });
    ws.on('close', (code) => (peer.closed = { code }));
    state.peers.push(peer);
    state.onPeer(peer);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return Object.assign(state, {
    authUrl: `http://127.0.0.1:${port}`,
    gatewayUrl: `ws://127.0.0.1:${port}/ws`,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    },
  });
}

function send(peer: Peer, message: ServerMessage | string): void {
  peer.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
}

function established(peer: Peer, expiresInMs = 3_600_000, heartbeatMs = 25_000): void {
  send(peer, {
    type: 'connection_established',
    connection_id: `c${Math.random()}`,
    user_id: 'u1',
    protocol: 'agent.v1',
    auth_expires_at: new Date(Date.now() + expiresInMs).toISOString(),
    server_time: new Date().toISOString(),
    heartbeat_interval_ms: heartbeatMs,
    connection_ready: true,
  });
}

const RUN_TYPES = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_completed',
] as const;

function runEvent(runId: string, id: number): AgentEvent {
  const base = { run_id: runId, thread_id: 'th', event_id: id, ts: new Date().toISOString() };
  switch (RUN_TYPES[id - 1]) {
    case 'agent_started':
      return { ...base, type: 'agent_started' };
    case 'agent_thinking':
      return { ...base, type: 'agent_thinking', text: 'thinking' };
    case 'tool_executing':
      return {
        ...base,
        type: 'tool_executing',
        tool: 'calculator',
        call_id: 'c1',
        input: { expression: '6 * 7' },
      };
    case 'tool_completed':
      return {
        ...base,
        type: 'tool_completed',
        tool: 'calculator',
        call_id: 'c1',
        output: { value: 42 },
      };
    default:
      return { ...base, type: 'agent_completed', result: '6 * 7 = 42' };
  }
}

async function waitFor(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AgentClient against a stand-in gateway', () => {
  let gw: StandIn;
  let client: AgentClient | undefined;
  let states: StateChange[];
  let logged: string[];
  let tokenCalls: number;

  function makeClient(overrides: Partial<AgentClientOptions> = {}): AgentClient {
    states = [];
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      logged.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    client = new AgentClient({
      authUrl: gw.authUrl,
      gatewayUrl: gw.gatewayUrl,
      getAccessToken: () => `token-${++tokenCalls}`,
      WebSocket,
      backoff: { initialMs: 20, maxMs: 100 },
      connectTimeoutMs: 2000,
      onStateChange: (change) => states.push(change),
      logger: {
        debug: record('debug'),
        info: record('info'),
        warn: record('warn'),
        error: record('error'),
      },
      ...overrides,
    });
    return client;
  }

  const stateNames = () => states.map((s) => s.state);

  beforeEach(async () => {
    gw = await standIn();
    logged = [];
    tokenCalls = 0;
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    // Nothing secret ever reaches the logger.
    const secrets = [...gw.tickets, ...gw.tokens];
    for (const line of logged) for (const secret of secrets) expect(line).not.toContain(secret);
    await gw.close();
  });

  it('offers agent.v1 plus the ticket as a subprotocol by default, and opens on connection_established', async () => {
    const c = makeClient();
    const first = await c.connect();
    expect(first.protocol).toBe('agent.v1');
    expect(c.protocol).toBe('agent.v1');
    expect(c.state).toBe('open');
    expect(gw.peers[0].offered).toEqual(['agent.v1', `ticket.${gw.tickets[0]}`]);
    expect(gw.peers[0].url).toBe('/ws');
    expect(gw.tokens).toEqual(['token-1']);
    expect(stateNames()).toEqual(['connecting', 'open']);
    expect(states[1].authExpiresAt).toBe(first.auth_expires_at);
  });

  it('puts the ticket in ?ticket= and offers only agent.v1 with the query carrier', async () => {
    const c = makeClient({ carrier: 'query' });
    await c.connect();
    expect(gw.peers[0].offered).toEqual(['agent.v1']);
    expect(gw.peers[0].url).toBe(`/ws?ticket=${gw.tickets[0]}`);
  });

  it('sends a valid chat with its client_msg_id, and refuses one that breaks the contract or has no socket', async () => {
    const c = makeClient();
    expect(() => c.chat('too early')).toThrow(expect.objectContaining({ code: 'not_open' }));
    await c.connect();
    const id = c.chat('What is 6 * 7?', { threadId: 'thread-1' });
    await waitFor(() => gw.peers[0].received.length === 1, 'the chat');
    expect(gw.peers[0].received[0]).toEqual({
      type: 'chat',
      content: 'What is 6 * 7?',
      thread_id: 'thread-1',
      client_msg_id: id,
    });
    expect(() => c.chat('')).toThrow(AgentClientError);
    expect(() => c.chat('x'.repeat(16_001))).toThrow(/content/);
  });

  it('reports unparseable frames as protocol_error, ignores them and stays open', async () => {
    gw.onPeer = (peer) => {
      established(peer);
      send(peer, 'not json');
      send(peer, JSON.stringify({ type: 'agent_started', run_id: 'r1' }));
      send(peer, JSON.stringify({ type: 'surprise' }));
      peer.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      send(peer, runEvent('r1', 1));
    };
    const c = makeClient();
    const errors: string[] = [];
    const started: AgentEvent[] = [];
    c.on('protocol_error', (e) => errors.push(e.code));
    c.on('agent_started', (e) => started.push(e));
    await c.connect();
    await waitFor(() => started.length === 1, 'agent_started');
    expect(errors).toEqual(['invalid_json', 'invalid_message', 'unknown_type', 'invalid_message']);
    expect(c.state).toBe('open');
  });

  it('abandons a connection whose first frame is not connection_established and reconnects', async () => {
    gw.onPeer = (peer) => {
      if (gw.peers.length === 1) send(peer, runEvent('r1', 1));
      else established(peer);
    };
    const c = makeClient();
    const errors: string[] = [];
    c.on('protocol_error', (e) => errors.push(e.message));
    await c.connect();
    expect(errors).toEqual(['first frame was agent_started']);
    expect(gw.peers).toHaveLength(2);
    expect(states[1]).toMatchObject({
      state: 'reconnecting',
      reason: { reason: 'protocol_error', willReconnect: true },
    });
  });

  it('resumes runs in flight after a reconnect and delivers each event_id exactly once', async () => {
    gw.onPeer = (peer) => {
      established(peer);
      if (gw.peers.length === 1) {
        send(peer, runEvent('run-a', 1));
        send(peer, runEvent('run-a', 2));
        send(peer, runEvent('run-done', 1));
        send(peer, {
          ...runEvent('run-done', 2),
          type: 'agent_failed',
          error: 'cancelled',
        } as AgentEvent);
        setTimeout(() => peer.ws.close(1012, 'gateway restarting'), 50);
      } else {
        // A socket that joins mid-run is sent the run from its start...
        for (let id = 1; id <= 3; id++) send(peer, runEvent('run-a', id));
      }
    };
    const c = makeClient();
    const seen: Array<[string, number, string]> = [];
    c.on('event', (e) => seen.push([e.run_id, e.event_id, e.type]));
    const completed: string[] = [];
    c.on('agent_completed', (e) => completed.push(e.result));
    await c.connect();
    await waitFor(() => gw.peers.length === 2 && gw.peers[1].received.length === 1, 'the resume');
    expect(gw.peers[1].received[0]).toMatchObject({
      type: 'resume',
      run_id: 'run-a',
      after_event_id: 2,
    });
    expect(gw.tickets).toHaveLength(2);
    expect(gw.peers[1].ticket).toBe(gw.tickets[1]);
    // ...and again from the resume point.
    for (let id = 3; id <= 5; id++) send(gw.peers[1], runEvent('run-a', id));
    await waitFor(() => completed.length === 1, 'agent_completed');
    expect(seen.filter(([run]) => run === 'run-a').map(([, id]) => id)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.filter(([run]) => run === 'run-done').map(([, id]) => id)).toEqual([1, 2]);
    const reconnecting = states.find((s) => s.state === 'reconnecting');
    expect(reconnecting).toMatchObject({
      attempt: 0,
      reason: {
        reason: 'service_restart',
        code: 1012,
        action: 'reconnect_now',
        willReconnect: true,
        serverReason: 'gateway restarting',
      },
    });
    expect(reconnecting?.delayMs).toBeLessThanOrEqual(20);
    expect(c.inFlightRuns()).toEqual([]);
  });

  it('stops resuming a run the server does not know', async () => {
    gw.onPeer = (peer) => {
      established(peer);
      if (gw.peers.length === 1) {
        send(peer, runEvent('gone', 1));
        setTimeout(() => peer.ws.close(1001), 20);
      }
    };
    const c = makeClient();
    await c.connect();
    await waitFor(() => gw.peers[1]?.received.length === 1, 'the resume');
    const resume = gw.peers[1].received[0] as ClientMessage & { client_msg_id: string };
    send(gw.peers[1], {
      type: 'error',
      code: 'unknown_run',
      message: 'aged out',
      ref: resume.client_msg_id,
    });
    await waitFor(() => c.inFlightRuns().length === 0, 'the run to be forgotten');
  });

  it('renews on auth_expiring with a fresh ticket: open -> renewing -> open with the new expiry', async () => {
    const c = makeClient();
    await c.connect();
    const peer = gw.peers[0];
    send(peer, {
      type: 'auth_expiring',
      auth_expires_at: new Date(Date.now() + 2000).toISOString(),
    });
    await waitFor(() => peer.received.some((m) => m.type === 'reauth'), 'reauth');
    const reauth = peer.received.find((m) => m.type === 'reauth') as { ticket: string };
    expect(reauth.ticket).toBe(gw.tickets[1]);
    expect(gw.tokens).toEqual(['token-1', 'token-2']);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    send(peer, { type: 'reauth_ok', auth_expires_at: later });
    await waitFor(() => c.state === 'open' && c.authExpiresAt === later, 'the new expiry');
    expect(stateNames()).toEqual(['connecting', 'open', 'renewing', 'open']);
    expect(states[3].authExpiresAt).toBe(later);
  });

  it('renews by itself renewBeforeMs ahead of expiry', async () => {
    gw.onPeer = (peer) => established(peer, 1500);
    const c = makeClient({ renewBeforeMs: 1000 });
    await c.connect();
    await sleep(300);
    expect(gw.peers[0].received).toEqual([]);
    await waitFor(() => gw.peers[0].received.some((m) => m.type === 'reauth'), 'reauth', 1000);
    expect(c.state).toBe('renewing');
  });

  it('retries a failed reauth once, then waits for the 4401 and reconnects at once with a new ticket', async () => {
    const c = makeClient();
    await c.connect();
    const peer = gw.peers[0];
    const reauths = () =>
      peer.received.filter((m) => m.type === 'reauth') as Array<{
        ticket: string;
        client_msg_id: string;
      }>;
    send(peer, {
      type: 'auth_expiring',
      auth_expires_at: new Date(Date.now() + 2000).toISOString(),
    });
    await waitFor(() => reauths().length === 1, 'reauth');
    send(peer, {
      type: 'error',
      code: 'reauth_failed',
      message: 'no',
      ref: reauths()[0].client_msg_id,
    });
    await waitFor(() => reauths().length === 2, 'the retry');
    expect(reauths()[1].ticket).not.toBe(reauths()[0].ticket);
    send(peer, {
      type: 'error',
      code: 'reauth_failed',
      message: 'no',
      ref: reauths()[1].client_msg_id,
    });
    await waitFor(() => c.state === 'open', 'back to open');
    // The same warning again does not start another round.
    send(peer, {
      type: 'auth_expiring',
      auth_expires_at: new Date(Date.now() + 2000).toISOString(),
    });
    await sleep(100);
    expect(reauths()).toHaveLength(2);
    peer.ws.close(4401, 'authentication expired');
    await waitFor(() => gw.peers.length === 2 && c.state === 'open', 'the reconnect');
    expect(stateNames()).toEqual([
      'connecting',
      'open',
      'renewing',
      'open',
      'reconnecting',
      'open',
    ]);
    expect(states[4]).toMatchObject({ attempt: 0, reason: { reason: 'auth_expired', code: 4401 } });
  });

  it('does not loop when a renewal does not extend the expiry', async () => {
    const c = makeClient();
    await c.connect();
    const peer = gw.peers[0];
    const expiry = c.authExpiresAt as string;
    const reauths = () => peer.received.filter((m) => m.type === 'reauth').length;
    send(peer, { type: 'auth_expiring', auth_expires_at: expiry });
    await waitFor(() => reauths() === 1, 'reauth');
    send(peer, { type: 'reauth_ok', auth_expires_at: expiry });
    send(peer, { type: 'auth_expiring', auth_expires_at: expiry });
    await sleep(100);
    expect(reauths()).toBe(1);
    expect(c.state).toBe('open');
  });

  it('keeps reconnecting with backoff while upgrades are refused but tickets are issued', async () => {
    gw.refuseUpgrades = 2;
    const c = makeClient();
    await c.connect();
    expect(gw.peers).toHaveLength(1);
    expect(gw.tickets).toHaveLength(3);
    const retries = states.filter((s) => s.state === 'reconnecting');
    expect(retries.map((s) => [s.attempt, s.reason?.reason, s.reason?.code])).toEqual([
      [0, 'abnormal', 1006],
      [1, 'abnormal', 1006],
    ]);
    for (const r of retries)
      expect(r.delayMs).toBeLessThanOrEqual(Math.min(100, 20 * 2 ** (r.attempt ?? 0)));
  });

  it('stops with auth_failed when a refused upgrade is followed by a 401 from the ticket endpoint', async () => {
    gw.refuseUpgrades = 1;
    // The session dies with the refusal: from then on the ticket endpoint says 401.
    gw.onRefuse = () => (gw.ticketStatus = 401);
    const c = makeClient();
    const failures: number[] = [];
    c.on('auth_failed', (f) => failures.push(f.status));
    const connecting = c.connect();
    await expect(connecting).rejects.toMatchObject({
      code: 'closed',
      reason: { reason: 'auth_failed', status: 401 },
    });
    expect(states.at(-1)).toMatchObject({
      state: 'closed',
      reason: { reason: 'auth_failed', code: 1006, willReconnect: false },
    });
    expect(failures).toEqual([401]);
    const asked = gw.tokens.length;
    await sleep(300);
    expect(gw.tokens).toHaveLength(asked);
  });

  it('honours Retry-After when the ticket endpoint is rate limited', async () => {
    gw.ticketStatus = 429;
    gw.retryAfter = '1';
    const c = makeClient();
    void c.connect().catch(() => undefined);
    await waitFor(() => stateNames().includes('reconnecting'), 'the retry');
    expect(states[1]).toMatchObject({ reason: { reason: 'ticket_unavailable', status: 429 } });
    expect(states[1].delayMs).toBeGreaterThanOrEqual(1000);
  });

  it('goes to closed on 4403, emits session_revoked and does not reconnect', async () => {
    const c = makeClient();
    await c.connect();
    const revoked: string[] = [];
    c.on('session_revoked', (r) => revoked.push(r.reason));
    gw.peers[0].ws.close(4403, 'session revoked (logout)');
    await waitFor(() => c.state === 'closed', 'closed');
    expect(states.at(-1)?.reason).toMatchObject({
      reason: 'session_revoked',
      code: 4403,
      action: 'login',
      willReconnect: false,
    });
    expect(revoked).toEqual(['session_revoked']);
    await sleep(200);
    expect(gw.tickets).toHaveLength(1);
  });

  it.each([1000, 1008, 1009])('stops on %i', async (code) => {
    const c = makeClient();
    await c.connect();
    gw.peers[0].ws.close(code);
    await waitFor(() => c.state === 'closed', 'closed');
    expect(states.at(-1)?.reason).toMatchObject({ code, action: 'stop', willReconnect: false });
    await sleep(100);
    expect(gw.tickets).toHaveLength(1);
  });

  it('close() is final: 1000 to the server, no reconnect, connect() refuses', async () => {
    const c = makeClient();
    await c.connect();
    c.close();
    await waitFor(() => gw.peers[0].closed !== undefined, 'the close');
    expect(gw.peers[0].closed?.code).toBe(1000);
    expect(states.at(-1)).toMatchObject({
      state: 'closed',
      reason: { reason: 'closed_by_client', willReconnect: false },
    });
    await expect(c.connect()).rejects.toMatchObject({ code: 'closed' });
    await sleep(150);
    expect(gw.tickets).toHaveLength(1);
  });

  it('close() during a backoff wait cancels the pending attempt', async () => {
    gw.refuseUpgrades = 100;
    const c = makeClient({ backoff: { initialMs: 300, maxMs: 300 } });
    const connecting = c.connect();
    await waitFor(() => stateNames().includes('reconnecting'), 'the first retry');
    c.close();
    await expect(connecting).rejects.toMatchObject({ reason: { reason: 'closed_by_client' } });
    const asked = gw.tickets.length;
    await sleep(500);
    expect(gw.tickets).toHaveLength(asked);
  });

  it('treats a silent gateway as gone and reconnects', async () => {
    let first = true;
    gw.onPeer = (peer) => {
      established(peer, 3_600_000, 100);
      if (first) {
        first = false;
        // Swallow everything: no pong, no frames.
        peer.ws.removeAllListeners('message');
      }
    };
    const c = makeClient();
    await c.connect();
    await waitFor(() => gw.peers.length === 2, 'the reconnect', 2000);
    expect(states.find((s) => s.state === 'reconnecting')?.reason?.reason).toBe(
      'heartbeat_timeout',
    );
  });

  it('stops with connect_failed when the WebSocket cannot be created, without quoting the ticket', async () => {
    class Refusing {
      constructor(url: string) {
        throw new SyntaxError(`cannot open ${url}`);
      }
    }
    const c = makeClient({
      carrier: 'query',
      WebSocket: Refusing as unknown as AgentClientOptions['WebSocket'],
    });
    await expect(c.connect()).rejects.toMatchObject({ reason: { reason: 'connect_failed' } });
    const meaning = states.at(-1)?.reason?.meaning ?? '';
    expect(meaning).toContain('ticket=[ticket]');
    expect(meaning).not.toContain(gw.tickets[0]);
  });

  it('keeps running when an app handler throws', async () => {
    const c = makeClient();
    c.on('connection_established', () => {
      throw new Error('app bug');
    });
    await c.connect();
    expect(c.state).toBe('open');
    expect(logged.some((l) => l.includes('a handler threw') && l.includes('app bug'))).toBe(true);
  });
});
