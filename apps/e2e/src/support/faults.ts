import { spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { HealthResponse, HealthResponseSchema } from '@admitone/auth-contracts';
import type { TestRedis } from '@admitone/testing';
import Redis from 'ioredis';
import { getJson } from './auth-client';
import { Env } from './gateway-stack';
import { eventually, ServiceProcess, workspaceRoot } from './service-process';
import { upgradeRequest } from './ws-client';

/**
 * Helpers for fault-injection tests: read a service's readiness, keep and
 * put back Redis keys across an empty restart, run the users CLI as an
 * operator would, and read every value under a test prefix whatever its type.
 */

/** `/health/ready` parsed with the contract's schema, with its status code. */
export async function readiness(
  service: ServiceProcess,
): Promise<{ status: number; body: HealthResponse }> {
  const res = await getJson(`${service.url}/health/ready`);
  return { status: res.status, body: HealthResponseSchema.parse(res.body) };
}

/** Waits until `/health/ready` answers 503 with `check` down (or 200 when `check` is omitted). */
export async function waitForReadiness(
  service: ServiceProcess,
  expected: { down: string } | 'ready',
  timeoutMs = 20_000,
): Promise<{ status: number; body: HealthResponse }> {
  let last: { status: number; body: HealthResponse } | undefined;
  const what =
    expected === 'ready'
      ? `${service.name} to be ready`
      : `${service.name} ready to name ${expected.down} down`;
  await eventually(
    async () => {
      last = await readiness(service).catch(() => undefined);
      if (!last) return false;
      return expected === 'ready'
        ? last.status === 200
        : last.status === 503 && last.body.checks[expected.down] === 'down';
    },
    what,
    timeoutMs,
  );
  return last as { status: number; body: HealthResponse };
}

export type KeyDumps = Array<readonly [string, Buffer]>;

/** DUMPs every key under the prefix matching `pattern` (e.g. the users, which outlive Redis in a real deployment). */
export async function dumpKeys(redis: TestRedis, pattern: string): Promise<KeyDumps> {
  const keys = await redis.keys(pattern);
  const dumps: Array<readonly [string, Buffer]> = [];
  for (const key of keys) {
    const dump = await redis.client.dumpBuffer(key);
    if (dump) dumps.push([key, dump] as const);
  }
  return dumps;
}

/** RESTOREs dumped keys into the Redis at `url`, over a connection of its own. */
export async function restoreKeys(url: string, dumps: KeyDumps): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    for (const [key, dump] of dumps) await client.restore(key, 0, dump, 'REPLACE');
  } finally {
    await client.quit();
  }
}

/** Runs `node dist/apps/auth-service/users-cli.js <args>` against the given Redis, as an operator would. */
export function usersCli(
  args: string[],
  env: Env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(workspaceRoot, 'dist/apps/auth-service/users-cli.js'), ...args],
      {
        cwd: workspaceRoot,
        env: { PATH: process.env['PATH'], NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One key under the prefix with everything it holds, as text (strings, hash fields and values, members, stream entries). */
export interface StoredKey {
  key: string;
  type: string;
  parts: string[];
}

/** Reads every key under the test prefix, whatever its type, so a test can search all of it. */
export async function storedKeys(redis: TestRedis): Promise<StoredKey[]> {
  const client = redis.client;
  const out: StoredKey[] = [];
  for (const key of await redis.keys()) {
    const type = await client.type(key);
    let parts: string[];
    switch (type) {
      case 'string':
        parts = [(await client.get(key)) ?? ''];
        break;
      case 'hash':
        parts = Object.entries(await client.hgetall(key)).flat();
        break;
      case 'set':
        parts = await client.smembers(key);
        break;
      case 'zset':
        parts = await client.zrange(key, 0, -1);
        break;
      case 'list':
        parts = await client.lrange(key, 0, -1);
        break;
      case 'stream':
        parts = (await client.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
        break;
      case 'none':
        continue; // expired between SCAN and TYPE
      default:
        throw new Error(`key ${key} has a type this scan does not read: ${type}`);
    }
    out.push({ key, type, parts });
  }
  return out;
}

/** Every (key, secret label) pair where a secret appears in a key name or any value. */
export function secretsIn(
  stored: StoredKey[],
  secrets: Record<string, string[]>,
): Array<{ key: string; secret: string }> {
  const found: Array<{ key: string; secret: string }> = [];
  for (const { key, parts } of stored) {
    const text = [key, ...parts].join('\n');
    for (const [label, values] of Object.entries(secrets))
      for (const value of values) if (text.includes(value)) found.push({ key, secret: label });
  }
  return found;
}

/** A WebSocket opened over raw TCP that never answers anything, not even a close frame. */
export interface SilentPeer {
  /** Everything the gateway sent after the 101 head, as text (frames are not decoded). */
  received(): string;
  /** True once the gateway closed or reset the TCP connection. */
  ended(): boolean;
  /** Drops the TCP connection (the gateway then sees the socket close). */
  release(): void;
}

/**
 * Opens a socket with a raw upgrade and then stays silent: the gateway's
 * close frame is never answered, so the gateway keeps counting the
 * connection until the test releases it. Resolves once connection_established
 * arrived (the gateway registered it).
 */
export function openSilentPeer(
  gatewayUrl: string,
  ticket: string,
  timeoutMs = 20_000,
): Promise<SilentPeer> {
  const { hostname, port } = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: hostname, port: Number(port) });
    let text = '';
    let ended = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection_established for the silent peer: ${text.slice(0, 200)}`));
    }, timeoutMs);
    socket.on('error', () => undefined);
    socket.on('close', () => (ended = true));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) {
        if (text.includes('\r\n\r\n')) {
          clearTimeout(timer);
          socket.destroy();
          reject(new Error(`silent peer refused: ${text.split('\r\n')[0]}`));
        }
        return;
      }
      if (text.includes('connection_established')) {
        clearTimeout(timer);
        resolve({
          received: () => text.slice(text.indexOf('\r\n\r\n') + 4),
          ended: () => ended,
          release: () => socket.destroy(),
        });
      }
    });
    socket.write(
      upgradeRequest(`/ws?ticket=${encodeURIComponent(ticket)}`, {
        Host: `${hostname}:${port}`,
        'Sec-WebSocket-Protocol': 'agent.v1',
      }),
    );
  });
}
