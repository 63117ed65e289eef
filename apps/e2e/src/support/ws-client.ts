import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect } from 'node:net';
import {
  ConnectionEstablished,
  parseServerMessage,
  ServerMessage,
  ServerMessageOf,
  ServerMessageType,
} from '@admitone/agent-events';
import { ErrorBody, ErrorBodySchema } from '@admitone/auth-contracts';
import WebSocket, { ClientOptions } from 'ws';

/**
 * A real `ws` client for the gateway, speaking only the public contract.
 * Every socket gets an inbox from the moment it is created, so a frame that
 * arrives before the test asks for it (connection_established, a close) is
 * never lost; every server frame is parsed with the contract's schema and a
 * frame that does not parse fails the test. Refusals are read from the HTTP
 * answer (ws's `unexpected-response`) and parsed with ErrorBodySchema.
 */
export type ConnectResult =
  | {
      kind: 'open';
      ws: WebSocket;
      /** The subprotocol the server selected ('' when none). */
      protocol: string;
      /** Headers of the 101 response. */
      headers: IncomingHttpHeaders;
      first: ConnectionEstablished;
    }
  | { kind: 'refused'; status: number; headers: IncomingHttpHeaders; body: ErrorBody }
  /** No HTTP answer at all (connection refused, reset, a handshake ws rejects). */
  | { kind: 'failed'; error: string };

export type RefusedResult = Extract<ConnectResult, { kind: 'refused' }>;
export type OpenResult = Extract<ConnectResult, { kind: 'open' }>;

interface Inbox {
  messages: ServerMessage[];
  /** Frames that did not parse with the contract: any one fails the next read. */
  violations: string[];
  waiters: Array<() => void>;
  closed?: { code: number; reason: string };
  closeWaiters: Array<() => void>;
}

const inboxes = new WeakMap<WebSocket, Inbox>();
const DEFAULT_TIMEOUT_MS = 5000;

function inboxOf(ws: WebSocket): Inbox {
  const inbox = inboxes.get(ws);
  if (!inbox) throw new Error('socket was not opened with connect()');
  return inbox;
}

function attachInbox(ws: WebSocket): Inbox {
  const inbox: Inbox = { messages: [], violations: [], waiters: [], closeWaiters: [] };
  inboxes.set(ws, inbox);
  ws.on('message', (data, isBinary) => {
    const parsed = isBinary
      ? ({ ok: false, error: { code: 'binary', message: 'binary frame' } } as const)
      : parseServerMessage(data);
    if (parsed.ok) inbox.messages.push(parsed.message);
    else inbox.violations.push(`${parsed.error.code}: ${parsed.error.message}`);
    inbox.waiters.splice(0).forEach((w) => w());
  });
  ws.on('close', (code, reason) => {
    inbox.closed = { code, reason: reason.toString() };
    inbox.waiters.splice(0).forEach((w) => w());
    inbox.closeWaiters.splice(0).forEach((w) => w());
  });
  return inbox;
}

/** `ws://host:port/ws` of a gateway started at `http://host:port`, with an optional query. */
export function wsUrl(gatewayUrl: string, query = '', path = '/ws'): string {
  return `${gatewayUrl.replace(/^http/, 'ws')}${path}${query}`;
}

/** Opens a socket; resolves once the first frame arrived, or with the refusal. */
export function connect(
  url: string,
  protocols: string | string[] = [],
  options: ClientOptions & { timeoutMs?: number } = {},
): Promise<ConnectResult> {
  const { timeoutMs = 10_000, ...clientOptions } = options;
  return new Promise<ConnectResult>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...clientOptions });
    const inbox = attachInbox(ws);
    let upgradeHeaders: IncomingHttpHeaders = {};
    let settled = false;
    const settle = (result: ConnectResult | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      settle(new Error(`no answer to the upgrade of ${url.replace(/ticket=[^&]*/, 'ticket=…')}`));
    }, timeoutMs);
    ws.on('upgrade', (res) => (upgradeHeaders = res.headers));
    ws.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          return settle(new Error(`refusal ${res.statusCode} without a JSON body: ${text}`));
        }
        const body = ErrorBodySchema.safeParse(json);
        if (!body.success)
          return settle(new Error(`refusal ${res.statusCode} outside the contract: ${text}`));
        settle({
          kind: 'refused',
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: body.data,
        });
      });
    });
    ws.on('error', (error) => settle({ kind: 'failed', error: error.message }));
    ws.on('open', () => {
      void nextMessage(ws, timeoutMs).then(
        (first) => {
          if (first.type !== 'connection_established')
            return settle(new Error(`first frame was ${first.type}, not connection_established`));
          settle({ kind: 'open', ws, protocol: ws.protocol, headers: upgradeHeaders, first });
        },
        (error: Error) =>
          settle(
            inbox.closed
              ? { kind: 'failed', error: `closed ${inbox.closed.code} before the first frame` }
              : error,
          ),
      );
    });
  });
}

/** Like connect(), but fails the test unless the socket opened. */
export async function open(
  url: string,
  protocols: string | string[] = [],
  options: ClientOptions & { timeoutMs?: number } = {},
): Promise<OpenResult> {
  const result = await connect(url, protocols, options);
  if (result.kind !== 'open')
    throw new Error(`expected the upgrade to succeed, got ${JSON.stringify(describe(result))}`);
  return result;
}

/** Like connect(), but fails the test unless the upgrade was refused with an HTTP status. */
export async function refused(
  url: string,
  protocols: string | string[] = [],
  options: ClientOptions & { timeoutMs?: number } = {},
): Promise<RefusedResult> {
  const result = await connect(url, protocols, options);
  if (result.kind !== 'refused') {
    if (result.kind === 'open') result.ws.terminate();
    throw new Error(`expected a refusal, got ${JSON.stringify(describe(result))}`);
  }
  return result;
}

function describe(result: ConnectResult): unknown {
  return result.kind === 'open' ? { kind: 'open', protocol: result.protocol } : result;
}

/** The next server frame, parsed with the contract (waits up to timeoutMs). */
export async function nextMessage(
  ws: WebSocket,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ServerMessage> {
  const inbox = inboxOf(ws);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (inbox.violations.length)
      throw new Error(`server sent a frame outside the contract: ${inbox.violations.join('; ')}`);
    if (inbox.messages.length) return inbox.messages.shift() as ServerMessage;
    if (inbox.closed) throw new Error(`socket closed (${inbox.closed.code}) before a frame came`);
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      inbox.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The next frame of `type`, skipping (and returning in `skipped`) any others. */
export async function nextOfType<T extends ServerMessageType>(
  ws: WebSocket,
  type: T,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<ServerMessageOf<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = await nextMessage(ws, Math.max(1, deadline - Date.now()));
    if (message.type === type) return message as ServerMessageOf<T>;
  }
}

/** Frames already received and not yet taken. */
export function pending(ws: WebSocket): ServerMessage[] {
  return [...inboxOf(ws).messages];
}

/** Frames received that did not parse with the contract (should always be empty). */
export function violationsOf(ws: WebSocket): string[] {
  return [...inboxOf(ws).violations];
}

/** Resolves with the close code and reason (at once if the socket is already closed). */
export async function closed(
  ws: WebSocket,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ code: number; reason: string }> {
  const inbox = inboxOf(ws);
  if (!inbox.closed)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket not closed within ${timeoutMs} ms`)),
        timeoutMs,
      );
      inbox.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  return inbox.closed as { code: number; reason: string };
}

/** The close, if it happened already. */
export function closeOf(ws: WebSocket): { code: number; reason: string } | undefined {
  return inboxOf(ws).closed;
}

export function send(ws: WebSocket, message: unknown): void {
  ws.send(typeof message === 'string' ? message : JSON.stringify(message));
}

/** Sends a ping and waits for its pong (skipping unrelated frames): proves the socket is alive. */
export async function pingPong(ws: WebSocket, timeoutMs = DEFAULT_TIMEOUT_MS) {
  send(ws, { type: 'ping' });
  return nextOfType(ws, 'pong', timeoutMs);
}

/** Closes every socket given (ignores those already closed). */
export function closeAll(sockets: Iterable<WebSocket | undefined>): void {
  for (const ws of sockets) if (ws && ws.readyState !== ws.CLOSED) ws.terminate();
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The bytes as received, for assertions on what must never appear. */
  raw: string;
}

/**
 * Sends a hand-written HTTP request over a plain TCP socket and reads the
 * answer: for upgrade requests no client library would send (a bad key,
 * version 8, odd header values). A 101 resolves as soon as its head arrives.
 */
export function rawRequest(gatewayUrl: string, request: string, timeoutMs = 5000) {
  const { hostname, port } = new URL(gatewayUrl);
  return new Promise<RawResponse>((resolve, reject) => {
    const socket = netConnect({ host: hostname, port: Number(port) });
    let buffer = Buffer.alloc(0);
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const raw = buffer.toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const head = (end === -1 ? raw : raw.slice(0, end)).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const body = end === -1 ? '' : buffer.subarray(end + 4).toString('utf8');
      resolve({ status, headers, body, raw });
    };
    const timer = setTimeout(
      () => finish(buffer.length ? undefined : new Error('no answer to the raw request')),
      timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const text = buffer.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (/^HTTP\/1\.1 101/.test(text)) return finish();
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
      if (length && buffer.length >= end + 4 + Number(length[1])) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error) => finish(buffer.length ? undefined : error));
    socket.write(request);
  });
}

/** A syntactically valid upgrade request with the given extra headers (CRLF added). */
export function upgradeRequest(
  target: string,
  headers: Record<string, string | undefined> = {},
): string {
  const all: Record<string, string | undefined> = {
    Host: 'gateway.test',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** Parses a refusal body (raw or from ws) with the contract's schema. */
export function parseErrorBody(text: string): ErrorBody {
  return ErrorBodySchema.parse(JSON.parse(text));
}
