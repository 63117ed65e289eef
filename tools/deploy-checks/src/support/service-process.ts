import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './container-process';
import { workspaceRoot } from './workspace';

/**
 * A built service (`node dist/apps/<name>/main.js`) run as a process of the
 * test, in development mode unless `env` says otherwise, with everything it
 * prints kept. Every process started here is stopped by `stopAll` (call it
 * in an afterAll).
 */
export interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
}

export class ProcessExited extends Error {}

const started: Service[] = [];

export async function startService(
  name: 'auth-service' | 'ws-gateway',
  env: Record<string, string>,
  waitFor: '/health/ready' | '/health/live' = '/health/ready',
): Promise<Service> {
  const port = env['PORT'] ?? String(await freePort());
  const child = spawn(process.execPath, [join(workspaceRoot, `dist/apps/${name}/main.js`)], {
    cwd: workspaceRoot,
    env: {
      PATH: process.env['PATH'],
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
      PORT: port,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const service = { name, url: `http://127.0.0.1:${port}`, child, output: () => output };
  started.push(service);
  await eventually(`${name} answers ${waitFor}`, async () => {
    if (child.exitCode !== null) throw new ProcessExited(`${name} exited:\n${output}`);
    return (await fetch(`${service.url}${waitFor}`)).status === 200;
  });
  return service;
}

export async function stopService(service: Service): Promise<void> {
  if (service.child.exitCode !== null) return;
  const exited = new Promise((r) => service.child.once('exit', r));
  service.child.kill('SIGTERM');
  await exited;
}

export async function stopAll(): Promise<void> {
  await Promise.all(started.map(stopService));
}

/** Retries `check` until it returns true; a generous bound turns a wait that never ends into a message. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'the condition stayed false';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof ProcessExited) throw error;
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})`);
}
