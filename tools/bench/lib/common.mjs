// Shared pieces of the bench: configuration, statistics, child processes.
import { fork, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const PROBE = fileURLToPath(new URL('./probe.cjs', import.meta.url));

/** Counts per scale; every one can be overridden by its BENCH_* variable or --name=value. */
export const SCALES = {
  tiny: {
    warmup: 20,
    connections: 40,
    repeats: 2,
    concurrency: 5,
    c1: 10,
    memoryN: '20,40,80',
    fullConnections: 20,
    relayUsers: 4,
    relayRate: 40,
    relaySeconds: 1,
    hold: 100,
    holdSeconds: 2,
    holdClients: 2,
    heartbeatMs: 500,
    settleMs: 100,
  },
  moderate: {
    warmup: 2000,
    connections: 1000,
    repeats: 3,
    concurrency: 50,
    c1: 200,
    memoryN: '500,1000,2000',
    fullConnections: 500,
    relayUsers: 100,
    relayRate: 500,
    relaySeconds: 5,
    hold: 5000,
    holdSeconds: 15,
    holdClients: 2,
    heartbeatMs: 5000,
    settleMs: 500,
  },
  full: {
    warmup: 5000,
    connections: 2000,
    repeats: 3,
    concurrency: 50,
    c1: 500,
    memoryN: '1000,2000,4000',
    fullConnections: 1000,
    relayUsers: 500,
    relayRate: 1000,
    relaySeconds: 10,
    hold: 19000,
    holdSeconds: 60,
    holdClients: 2,
    heartbeatMs: 10000,
    settleMs: 500,
  },
};

const envName = (key) => `BENCH_${key.replace(/[A-Z0-9]+/g, (m) => `_${m}`).toUpperCase()}`;

export function readConfig(argv = process.argv.slice(2), env = process.env) {
  const flags = {};
  for (const arg of argv) {
    const m = /^--([a-zA-Z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg}`);
    flags[m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = m[2] ?? 'true';
  }
  const scale = flags.tiny === 'true' ? 'tiny' : (flags.scale ?? env.BENCH_SCALE ?? 'full');
  if (!SCALES[scale]) throw new Error(`unknown scale ${scale} (tiny, moderate, full)`);
  const config = { scale };
  for (const [key, def] of Object.entries(SCALES[scale])) {
    const raw = flags[key] ?? env[envName(key)];
    config[key] = raw === undefined ? def : typeof def === 'number' ? Number(raw) : raw;
    if (typeof def === 'number' && !(config[key] > 0))
      throw new Error(`${key} must be a positive number`);
  }
  config.memoryN = String(config.memoryN)
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  config.servers = (flags.servers ?? env.BENCH_SERVERS ?? 'bare,redis,socketio,admitone').split(
    ',',
  );
  config.phases = (flags.phases ?? env.BENCH_PHASES ?? 'upgrade,memory,full,relay,hold').split(',');
  config.out = flags.out ?? env.BENCH_OUT ?? 'dist/bench';
  config.redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  config.cpuProfDir = flags.cpuProf ?? env.BENCH_CPU_PROF;
  return config;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function percentile(values, p) {
  if (!values.length) return NaN;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
export const median = (values) => percentile(values, 50);

/** Least-squares slope of y over x. */
export function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const live = new Set();

/** A server process with the probe preloaded and an IPC channel to it. */
export function spawnServer(script, { env = {}, nodeArgs = [] } = {}) {
  const child = spawn(process.execPath, ['--expose-gc', '-r', PROBE, ...nodeArgs, script], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let next = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    if (m && typeof m.probe === 'number') {
      waiting.get(m.probe)?.(m);
      waiting.delete(m.probe);
    }
  });
  child.probe = (gc = false) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`${script}: probe timed out`)), 30_000);
      waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      child.send({ probe: id, gc });
    });
  child.stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return child;
}

/** A load client process, driven by request/response over IPC. */
export async function startClient() {
  const child = fork(fileURLToPath(new URL('../load-client.mjs', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let next = 0;
  const waiting = new Map();
  await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m) => {
      if (m?.ready) return resolve();
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m.result);
    });
  });
  child.call = (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      child.send({ id, cmd, ...args });
    });
  return child;
}

export function killAll() {
  for (const child of live) child.kill('SIGKILL');
}
