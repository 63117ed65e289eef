import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect as netConnect, Socket } from 'node:net';
import type { RawResponse } from './ws-client';

/**
 * Raw TCP for the gateway's edge: bytes no HTTP client would send, and a
 * client that keeps its side of the connection open after the answer
 * (`allowHalfOpen`), so a test can prove that the server closes a refused
 * socket rather than waiting for the client to do it.
 */
export interface RawExchange {
  response: RawResponse;
  socket: Socket;
}

/** Parses what arrived so far; undefined until a complete response is there. */
function parseResponse(buffer: Buffer): RawResponse | undefined {
  const raw = buffer.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  if (status !== 101) {
    const length = Number(headers['content-length'] ?? NaN);
    if (!(buffer.length >= end + 4 + length)) return undefined;
  }
  return { status, headers, body: buffer.subarray(end + 4).toString('utf8'), raw };
}

/**
 * Writes `request` and resolves with the complete response and the socket,
 * still open on the client's side. Rejects when no complete response came
 * (the connection ended first, or nothing within timeoutMs).
 */
export function exchangeRaw(
  serviceUrl: string,
  request: string | Buffer,
  timeoutMs = 15_000,
): Promise<RawExchange> {
  const { hostname, port } = new URL(serviceUrl);
  return new Promise<RawExchange>((resolve, reject) => {
    const socket = netConnect({ host: hostname, port: Number(port), allowHalfOpen: true });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`${why}; received ${JSON.stringify(buffer.toString('latin1'))}`));
    };
    const timer = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const response = settled ? undefined : parseResponse(buffer);
      if (!response) return;
      settled = true;
      clearTimeout(timer);
      resolve({ response, socket });
    });
    socket.on('end', () => fail('the server ended the connection before a complete answer'));
    socket.on('error', (error) => fail(`socket error ${error.message}`));
    socket.on('close', () => fail('closed before a complete answer'));
    socket.write(request);
  });
}

/**
 * Resolves once the server has closed its end for good. The client keeps
 * its side open and sends a probe byte now and then: while the server still
 * holds the socket the bytes are read (or buffered) silently; once it has
 * closed it, the kernel answers the next probe with a reset. Rejects after
 * timeoutMs, which proves the server held the socket that long.
 */
export function serverClosed(socket: Socket, timeoutMs = 30_000, probeEveryMs = 100) {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const done = (error?: Error) => {
      clearInterval(probe);
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`the server still held the socket after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const probe = setInterval(() => {
      if (socket.writable) socket.write('\r\n');
    }, probeEveryMs);
    socket.on('error', () => undefined);
    socket.once('close', () => done());
  });
}

interface TcpEntry {
  local: string;
  remote: string;
  /** Kernel state in hex: 0A is LISTEN. */
  state: string;
  inode: string;
}

/** IPv4 TCP sockets of this network namespace, from /proc/net/tcp (Linux only). */
function tcpEntries(): TcpEntry[] {
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9)
    .map((f) => ({ local: f[1], remote: f[2], state: f[3], inode: f[9] }));
}

/** Inodes of the sockets process `pid` holds a descriptor for. */
function socketInodes(pid: number): Set<string> {
  const held = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) held.add(link.slice(8, -1));
    } catch {
      // The descriptor was closed between the listing and the read: not held.
    }
  }
  return held;
}

const loopback = (port: number) => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Whether process `pid` still holds the server side of the TCP connection
 * whose client end is `clientPort` on 127.0.0.1 (what `ss -tp` shows).
 */
export function holdsConnection(pid: number, serverPort: number, clientPort: number): boolean {
  const held = socketInodes(pid);
  return tcpEntries().some(
    (e) =>
      e.local === loopback(serverPort) &&
      e.remote === loopback(clientPort) &&
      e.inode !== '0' &&
      held.has(e.inode),
  );
}

/** How many accepted connections on `serverPort` (127.0.0.1) process `pid` still holds. */
export function heldConnectionCount(pid: number, serverPort: number): number {
  const held = socketInodes(pid);
  return tcpEntries().filter(
    (e) =>
      e.local === loopback(serverPort) && e.state !== '0A' && e.inode !== '0' && held.has(e.inode),
  ).length;
}
