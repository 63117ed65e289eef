import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Runs a built service (`node dist/apps/<name>/main.js`, as the image's CMD
 * does) with the given environment, waits until it answers /health/ready,
 * and keeps everything it printed for log assertions.
 */
export const workspaceRoot = join(__dirname, '../../../..');

export interface ServiceProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  /** Parsed JSON log lines. */
  logLines(): Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const running = new Set<ServiceProcess>();

export async function startService(
  name: 'auth-service' | 'ws-gateway' | 'agent-worker' | 'web-demo' | 'python-agent',
  env: Record<string, string | undefined>,
  options: {
    ready?: boolean;
    timeoutMs?: number;
    /** Another program than `node dist/apps/<name>/main.js` (e.g. a Python agent). */
    command?: { file: string; args: string[] };
  } = {},
): Promise<ServiceProcess> {
  const port = env['PORT'] ? Number(env['PORT']) : await freePort();
  const command = options.command ?? {
    file: process.execPath,
    args: [join(workspaceRoot, `dist/apps/${name}/main.js`)],
  };
  const child = spawn(command.file, command.args, {
    cwd: workspaceRoot,
    env: {
      PATH: process.env['PATH'],
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    name,
    url,
    port,
    child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    async stop(signal = 'SIGTERM') {
      running.delete(service);
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(service);
  if (options.ready === false) return service;
  // Generous: a shared 2-core machine can take this long to start a Nest service and seed users.
  const deadline = Date.now() + (options.timeoutMs ?? 45_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      // Our child must have said it listens on this port: never latch onto another process's service.
      if (res.status === 200 && output.includes(String(port))) return service;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await service.stop('SIGKILL');
  throw new Error(`${name} was not ready within the timeout:\n${output}`);
}

/** Stops every service a test file started (call in afterAll). */
export async function stopAllServices(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Waits until `predicate` holds, polling; throws with `what` on timeout. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
