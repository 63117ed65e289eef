// Gateway benchmark: prints figures, asserts nothing (machines here are shared
// and noisy; compare runs, not thresholds). Run with `npm run bench` after a
// build. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379).
//
// Measures, against the built services run as processes:
//   - ticket issuance rate (POST /websocket/ticket)
//   - authenticated upgrades: connections per second and latency percentiles
//     from `new WebSocket` to `connection_established` (ticket exchange included)
//   - the gateway's resident memory per open connection
//   - chat round trip: `chat` to `agent_completed` through Redis and a worker
// and, as a baseline in the same run, a bare `ws` server with no auth at all.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { exportJWK, generateKeyPair } from 'jose';

const N = Number(process.env.BENCH_CONNECTIONS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const CHATS = Number(process.env.BENCH_CHATS ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bench:${randomBytes(4).toString('hex')}:`;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
async function start(name, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [`dist/apps/${name}/main.js`], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { url, port };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become ready`);
}

const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n) => `${n.toFixed(1)} ms`;
function summary(latencies) {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] };
}

async function pool(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : NaN;
}

function open(url, protocols) {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('message', () => resolve({ ws, ms: performance.now() - started }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function baseline() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.send('{"type":"hello"}'));
  await new Promise((r) => wss.once('listening', r));
  const url = `ws://127.0.0.1:${wss.address().port}`;
  const started = performance.now();
  const opened = await pool(N, CONCURRENCY, () => open(url));
  const seconds = (performance.now() - started) / 1000;
  for (const { ws } of opened) ws.terminate();
  wss.close();
  return { rate: N / seconds, ...summary(opened.map((o) => o.ms)) };
}

async function main() {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256' };
  const key = randomBytes(32).toString('base64url');
  const shared = { REDIS_URL, REDIS_PREFIX: PREFIX };
  const auth = await start('auth-service', {
    ...shared,
    EXCHANGE_CLIENT_KEYS: key,
    JWT_SIGNING_KEYS: JSON.stringify([jwk]),
    SEED_USERS: 'bench@example.com:bench-password',
    LOGIN_RATE_LIMIT: '100000/60s',
    TICKET_RATE_LIMIT: '1000000/60s',
  });
  const gateway = await start('ws-gateway', {
    ...shared,
    AUTH_SERVICE_URL: auth.url,
    EXCHANGE_CLIENT_KEY: key,
    UPGRADE_RATE_LIMIT: '1000000/60s',
    MAX_CONNECTIONS_PER_USER: String(N + CHATS + 10),
    DRAIN_SECONDS: '0',
  });
  await start('agent-worker', { ...shared, AGENT_STEP_DELAY_MS: '0', WORKER_CONCURRENCY: '16' });
  const wsUrl = `ws://127.0.0.1:${gateway.port}/ws`;

  const login = await (
    await fetch(`${auth.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password: 'bench-password' }),
    })
  ).json();
  const ticket = async () =>
    (
      await (
        await fetch(`${auth.url}/websocket/ticket`, {
          method: 'POST',
          headers: { authorization: `Bearer ${login.access_token}` },
        })
      ).json()
    ).ticket;

  const base = await baseline();

  let t0 = performance.now();
  const tickets = await pool(N, CONCURRENCY, ticket);
  const ticketRate = N / ((performance.now() - t0) / 1000);

  await new Promise((r) => setTimeout(r, 500));
  const rssBefore = await metric(gateway.url, 'process_resident_memory_bytes');
  t0 = performance.now();
  const opened = await pool(N, CONCURRENCY, (i) =>
    open(wsUrl, ['agent.v1', `ticket.${tickets[i]}`]),
  );
  const upgradeSeconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfter = await metric(gateway.url, 'process_resident_memory_bytes');
  const up = summary(opened.map((o) => o.ms));

  // One user's events reach all of that user's sockets, so runs go one at a
  // time and each is followed by its run_id (the first agent_started after it).
  const endings = {};
  const chatLatencies = await pool(CHATS, 1, async (i) => {
    const { ws } = opened[i];
    const started = performance.now();
    let runId;
    return new Promise((resolve) => {
      const onMessage = (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'agent_started' && !runId) runId = m.run_id;
        const ended =
          m.type === 'error' ||
          ((m.type === 'agent_completed' || m.type === 'agent_failed') && m.run_id === runId);
        if (!ended) return;
        ws.off('message', onMessage);
        const key = m.type === 'error' ? `error ${m.code}` : m.type;
        endings[key] = (endings[key] ?? 0) + 1;
        resolve(performance.now() - started);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ type: 'chat', content: `What is ${i} * 7?` }));
    });
  });
  const chat = summary(chatLatencies);
  for (const { ws } of opened) ws.terminate();

  const rows = [
    [
      'bare ws upgrades (baseline)',
      `${base.rate.toFixed(0)} conn/s`,
      `p50 ${ms(base.p50)}  p95 ${ms(base.p95)}  p99 ${ms(base.p99)}`,
    ],
    ['ticket issuance', `${ticketRate.toFixed(0)} tickets/s`, ''],
    [
      'authenticated upgrades',
      `${(N / upgradeSeconds).toFixed(0)} conn/s`,
      `p50 ${ms(up.p50)}  p95 ${ms(up.p95)}  p99 ${ms(up.p99)}  max ${ms(up.max)}`,
    ],
    [
      'gateway memory per connection',
      `${((rssAfter - rssBefore) / N / 1024).toFixed(1)} KiB`,
      `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB for ${N} sockets`,
    ],
    [
      'chat round trip (5 events)',
      `${CHATS} runs`,
      `p50 ${ms(chat.p50)}  p95 ${ms(chat.p95)}  p99 ${ms(chat.p99)}`,
    ],
  ];
  process.stdout.write(
    `\nAdmitOne gateway benchmark: ${N} connections, concurrency ${CONCURRENCY}, node ${process.version}\n\n`,
  );
  for (const [what, figure, detail] of rows)
    process.stdout.write(`${what.padEnd(32)} ${figure.padEnd(16)} ${detail}\n`);
  process.stdout.write(`\nchat runs ended with: ${JSON.stringify(endings)}\n\n`);
}

main()
  .catch((error) => {
    process.stderr.write(`benchmark failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const child of children) child.kill('SIGTERM');
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
  });
