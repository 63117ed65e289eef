import { ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import {
  AgentEvent,
  AgentEventType,
  ClientMessage,
  parseServerMessage,
  ServerMessage,
  SUBPROTOCOL,
  TERMINAL_EVENT_TYPES,
} from '@admitone/agent-events';
import WebSocket from 'ws';
import { exchangeKey, signingKey } from './auth-client';
import { Env, PASSWORD, USERS } from './gateway-stack';
import { freePort, ServiceProcess, startService } from './service-process';
import { wsUrl } from './ws-client';

/**
 * Helpers for the agent end-to-end tests: a worker process, and a socket
 * that records every frame the gateway sends (each parsed with the
 * contract's parseServerMessage; a frame that does not parse is kept as a
 * violation and fails `expectContractOnly`), so a test can ask afterwards
 * what reached which socket, not only what it waited for.
 */
export const RUN_EVENT_TYPES: readonly AgentEventType[] = [
  'agent_started',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_completed',
];

const AGENT_EVENT_TYPES = new Set<string>([...RUN_EVENT_TYPES, 'agent_failed']);

export function isAgentEvent(message: ServerMessage): message is AgentEvent {
  return AGENT_EVENT_TYPES.has(message.type);
}

export function isTerminal(event: AgentEvent): boolean {
  return TERMINAL_EVENT_TYPES.includes(event.type);
}

/** Where a worker finds the bus (the same REDIS_URL and REDIS_PREFIX as every other service). */
export interface BusLocation {
  url: string;
  prefix: string;
}

export function startWorker(bus: BusLocation, overrides: Env = {}): Promise<ServiceProcess> {
  return startService('agent-worker', {
    REDIS_URL: bus.url,
    REDIS_PREFIX: bus.prefix,
    AGENT_STEP_DELAY_MS: '20',
    CLAIM_IDLE_MS: '2000',
    ...overrides,
  });
}

/** auth-service settings for in-memory mode (no REDIS_URL), with the usual seeded users. */
export async function memoryAuthEnv(overrides: Env = {}): Promise<Env> {
  return {
    EXCHANGE_CLIENT_KEYS: exchangeKey(),
    JWT_SIGNING_KEYS: JSON.stringify([await signingKey('e2e-memory')]),
    SEED_USERS: USERS.map((email) => `${email}:${PASSWORD}`).join(','),
    LOGIN_RATE_LIMIT: '1000/60s',
    TICKET_RATE_LIMIT: '1000/60s',
    ...overrides,
  };
}

export class AgentSocket {
  /** Every frame received, in order, parsed with the contract. */
  readonly frames: ServerMessage[] = [];
  /** Frames that did not parse with parseServerMessage. */
  readonly violations: string[] = [];
  closed?: { code: number; reason: string };
  private waiters = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly label: string,
  ) {
    ws.on('message', (data, isBinary) => {
      const parsed = isBinary
        ? ({ ok: false, error: { code: 'binary', message: 'binary frame' } } as const)
        : parseServerMessage(data);
      if (parsed.ok) this.frames.push(parsed.message);
      else this.violations.push(`${parsed.error.code}: ${parsed.error.message}`);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket with a ticket and waits for connection_established. */
  static async open(gatewayUrl: string, ticket: string, label = 'socket'): Promise<AgentSocket> {
    const ws = new WebSocket(
      wsUrl(gatewayUrl, `?ticket=${encodeURIComponent(ticket)}`),
      [SUBPROTOCOL],
      {
        perMessageDeflate: false,
      },
    );
    const socket = new AgentSocket(ws, label);
    await new Promise<void>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`${label}: upgrade refused with ${res.statusCode}`)),
      );
      ws.once('error', reject);
      ws.once('open', () => resolve());
    });
    await socket.waitFor(
      (f) => f.type === 'connection_established',
      `${label}: connection_established`,
    );
    return socket;
  }

  get userId(): string {
    const first = this.frames.find((f) => f.type === 'connection_established');
    return first?.type === 'connection_established' ? first.user_id : '';
  }

  send(message: ClientMessage | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  chat(content: string, clientMsgId?: string): void {
    this.send({ type: 'chat', content, ...(clientMsgId ? { client_msg_id: clientMsgId } : {}) });
  }

  events(): AgentEvent[] {
    return this.frames.filter(isAgentEvent);
  }

  eventsOf(runId: string): AgentEvent[] {
    return this.events().filter((e) => e.run_id === runId);
  }

  /** Run ids in the order their first event arrived. */
  runIds(): string[] {
    return [...new Set(this.events().map((e) => e.run_id))];
  }

  finished(runId: string): boolean {
    return this.eventsOf(runId).some(isTerminal);
  }

  errors(): ServerMessage[] {
    return this.frames.filter((f) => f.type === 'error');
  }

  /** Resolves with the first frame (from the start) that matches; fails on timeout or close. */
  async waitFor(
    predicate: (frame: ServerMessage) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<ServerMessage> {
    await this.until(() => this.frames.some(predicate), what, timeoutMs);
    return this.frames.find(predicate) as ServerMessage;
  }

  /** Waits until `condition` holds over what this socket received. */
  async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.violations.length)
        throw new Error(`${this.label}: frame outside the contract: ${this.violations.join('; ')}`);
      if (this.closed)
        throw new Error(`${this.label}: closed (${this.closed.code}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** A new run started by this socket's next chat: the first run id not in `known`. */
  async nextRun(known: Iterable<string>, what = 'a new run', timeoutMs = 10_000): Promise<string> {
    const seen = new Set(known);
    await this.until(() => this.runIds().some((id) => !seen.has(id)), what, timeoutMs);
    return this.runIds().find((id) => !seen.has(id)) as string;
  }

  /** Kills the TCP connection without a close handshake (a dropped network). */
  terminate(): void {
    this.ws.terminate();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    waiters.forEach((w) => w());
  }
}

export function closeSockets(sockets: Iterable<AgentSocket | undefined>): void {
  for (const socket of sockets) socket?.close();
}

/** Fails unless every frame every socket received parsed with the contract. */
export function expectContractOnly(sockets: Iterable<AgentSocket>): void {
  const violations = [...sockets].flatMap((s) => s.violations.map((v) => `${s.label}: ${v}`));
  if (violations.length) throw new Error(`frames outside the contract:\n${violations.join('\n')}`);
}

/** The five events of a completed run, in causal order, event_id 1..5, one run and thread. */
export function expectCompletedRun(events: AgentEvent[]): void {
  const got = events.map((e) => `${e.event_id}:${e.type}`);
  const want = RUN_EVENT_TYPES.map((type, i) => `${i + 1}:${type}`);
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`expected ${want.join(', ')}; got ${got.join(', ')}`);
  if (new Set(events.map((e) => e.run_id)).size !== 1) throw new Error('events of several runs');
  if (new Set(events.map((e) => e.thread_id)).size !== 1)
    throw new Error('events of several threads');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A redis-server of a test's own (no persistence), which the test may kill
 * and start again on the same port without disturbing other test files.
 */
export class PrivateRedis {
  private child?: ChildProcess;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await this.answers()) return;
      if (Date.now() > deadline) throw new Error('redis-server did not answer in time');
      await sleep(50);
    }
  }

  /** Kills the server (SIGKILL: everything in it is gone) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** A raw PING over TCP (a client library would leave reconnect timers behind). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: this.port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.on('error', () => done(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk: Buffer) => done(chunk.toString().startsWith('+PONG')));
    });
  }
}
