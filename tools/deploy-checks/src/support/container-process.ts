import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { workspaceRoot } from './workspace';

/**
 * Runs a built app the way its image does: the Dockerfile's CMD (node and
 * the bundle, from the image's WORKDIR, which is the repository root here),
 * with only the environment the container would get, and with node as PID 1
 * of its own PID namespace (`unshare --pid --fork`), as in a container.
 *
 * PID 1 matters for shutdown: a signal without a handler is ignored by PID 1,
 * so a process that re-raises SIGTERM after its graceful shutdown (Nest does,
 * unless told to exit) lives on until its event loop is empty, or until the
 * platform's SIGKILL if something keeps it busy. Run outside a namespace, the
 * re-raised SIGTERM would kill it at once and hide exactly that.
 */
export interface ContainerProcess {
  name: string;
  port: number;
  url: string;
  output(): string;
  /** Host pid of the app (the namespace's PID 1), for signals from "outside", as a kubelet sends them. */
  appPid(): number;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  kill(): void;
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

let pidNamespaceArgs: string[] | undefined;
/** `unshare` arguments that work here: as root, a PID namespace; otherwise inside a user namespace too. */
function unshareArgs(): string[] {
  if (pidNamespaceArgs) return pidNamespaceArgs;
  const candidates = [
    ['--pid', '--fork', '--kill-child'],
    ['--user', '--map-root-user', '--pid', '--fork', '--kill-child'],
  ];
  for (const args of candidates) {
    const probe = spawnSync('unshare', [
      ...args,
      process.execPath,
      '-e',
      'process.exit(process.pid === 1 ? 0 : 3)',
    ]);
    if (probe.status === 0) return (pidNamespaceArgs = args);
  }
  throw new Error(
    'cannot run a process as PID 1 of its own PID namespace (unshare --pid --fork, util-linux): needed to run the apps as their images do',
  );
}

export function startContainerProcess(
  name: string,
  argv: string[],
  env: Record<string, string>,
  port: number,
): ContainerProcess {
  const [command, ...args] = argv;
  if (command !== 'node') throw new Error(`${name}: CMD must start with node, got ${command}`);
  const child: ChildProcess = spawn('unshare', [...unshareArgs(), process.execPath, ...args], {
    cwd: workspaceRoot,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    appPid() {
      const pid = child.pid as number;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      if (!children) throw new Error(`${name}: unshare has no child yet`);
      return Number(children.split(/\s+/)[0]);
    },
    exited: () => exited,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // --kill-child takes the app with it
    },
  };
}

/** Polls /health/ready until 200; throws with the process output if it exits or times out. */
export async function waitUntilReady(p: ContainerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!p.isRunning()) throw new Error(`${p.name} exited before it was ready:\n${p.output()}`);
    try {
      const res = await fetch(`${p.url}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p.name} was not ready within ${timeoutMs} ms:\n${p.output()}`);
}

/** Resolves with the exit, or with `timedOut` once `ms` have passed. */
export async function exitWithin(
  p: ContainerProcess,
  ms: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; elapsedMs: number } | 'timedOut'> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timedOut'>(
    (resolve) => (timer = setTimeout(() => resolve('timedOut'), ms)),
  );
  try {
    const result = await Promise.race([p.exited(), timeout]);
    return result === 'timedOut' ? result : { ...result, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}
