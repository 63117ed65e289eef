// Idle-socket soak: many authenticated WebSockets held open for a while, the
// way a fleet of idle browser tabs holds them. Not part of `npm test`: it runs
// for minutes and loads the machine. Run with `npm run soak` (builds first).
// Needs Redis (REDIS_URL, default redis://127.0.0.1:6379).
//
//   npm run soak                                   5,000 sockets for 60 s
//   npm run soak -- --connections 200 --seconds 10 a quick run while developing
//   SOAK_CONNECTIONS=8000 SOAK_SECONDS=300 npm run soak
//
// It starts the built auth-service and ws-gateway as processes against Redis
// under a unique key prefix, logs in a few users, issues one ticket per
// socket, opens N sockets (subprotocol carrier), then holds them for D
// seconds doing what the protocol asks of an idle client: answer the
// gateway's WebSocket pings (the `ws` client does), send an application
// `ping` now and then and expect its `pong`, and renew with `reauth` on
// `auth_expiring`. It prints how many sockets survived, the close codes seen
// (1011 and 1006 called out), pongs, and the gateway's resident memory, then
// stops the processes and deletes its Redis keys, also on Ctrl-C. Exit code 1
// when a socket was lost or closed with 1011.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { WebSocket } from 'ws';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', short: 'n' },
    seconds: { type: 'string', short: 'd' },
    concurrency: { type: 'string' },
  },
});
const N = Number(args.connections ?? process.env.SOAK_CONNECTIONS ?? 5000);
const SECONDS = Number(args.seconds ?? process.env.SOAK_SECONDS ?? 60);
const CONCURRENCY = Number(args.concurrency ?? process.env.SOAK_CONCURRENCY ?? 20);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `soak:${randomBytes(4).toString('hex')}:`;
const USERS = Math.max(1, Math.min(50, Math.ceil(N / 100)));
const PASSWORD = 'soak-password-1';
/** Each socket sends an application ping about this often (spread over sockets). */
const APP_PING_MS = 20_000;
// This process holds N sockets and the gateway N more: stay well under the
// 20,000 descriptors a process may open here.
const MAX_CONNECTIONS = 15_000;

if (!Number.isInteger(N) || N < 1 || N > MAX_CONNECTIONS)
  throw new Error(`connections must be an integer from 1 to ${MAX_CONNECTIONS}, got ${N}`);
if (!Number.isFinite(SECONDS) || SECONDS < 1) throw new Error(`seconds must be >= 1`);

const log = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
async function start(name, env, port) {
  let stderr = '';
  const child = spawn(process.execPath, [`dist/apps/${name}/main.js`], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  children.push({ name, child, exited });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { url, port, child };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready in 30 s: ${stderr}`);
}

async function post(url, body, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url} answered ${res.status} ${json.error}`);
  return json;
}

async function rss(gatewayUrl) {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

async function pool(count, concurrency, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const stats = {
  opened: 0,
  refused: {},
  closes: {},
  pingsSent: 0,
  pongs: 0,
  serverPings: 0,
  reauthOk: 0,
  errors: {},
};
const count = (table, key) => (table[key] = (table[key] ?? 0) + 1);
let holding = false;

function openSocket(url, ticket, renew) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['agent.v1', `ticket.${ticket}`]);
    let settled = false;
    const settle = (value) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        let code;
        try {
          code = JSON.parse(body).error;
        } catch {
          code = 'no JSON body';
        }
        count(stats.refused, `${res.statusCode} ${code}`);
        ws.terminate();
        settle(undefined);
      });
    });
    ws.on('error', (error) => {
      if (!settled) count(stats.refused, error.code ?? 'error');
      settle(undefined);
    });
    ws.on('ping', () => stats.serverPings++);
    ws.on('close', (code) => {
      if (settled && holding) count(stats.closes, code);
      settle(undefined);
    });
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw));
      if (message.type === 'connection_established') {
        stats.opened++;
        settle(ws);
      } else if (message.type === 'pong') stats.pongs++;
      else if (message.type === 'reauth_ok') stats.reauthOk++;
      else if (message.type === 'auth_expiring')
        renew().then(
          (fresh) => ws.send(JSON.stringify({ type: 'reauth', ticket: fresh })),
          () => count(stats.errors, 'renew_failed'),
        );
      else if (message.type === 'error') count(stats.errors, message.code);
    });
  });
}

async function cleanup() {
  await Promise.all(
    children.map(async ({ child, exited }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let removed = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

async function main() {
  log(
    `AdmitOne idle soak: ${N} sockets for ${SECONDS} s, ${USERS} users, concurrency ${CONCURRENCY}, prefix ${PREFIX}, node ${process.version}`,
  );
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'soak', alg: 'ES256' };
  const key = randomBytes(32).toString('base64url');
  const shared = { REDIS_URL, REDIS_PREFIX: PREFIX };
  const emails = Array.from({ length: USERS }, (_, i) => `soak-${i}@example.com`);
  const perUser = Math.ceil(N / USERS);
  const authPort = await freePort();
  const [auth, gateway] = await Promise.all([
    start(
      'auth-service',
      {
        ...shared,
        EXCHANGE_CLIENT_KEYS: key,
        JWT_SIGNING_KEYS: JSON.stringify([jwk]),
        SEED_USERS: emails.map((e) => `${e}:${PASSWORD}`).join(','),
        LOGIN_RATE_LIMIT: '100000/60s',
        TICKET_RATE_LIMIT: '1000000/60s',
        // Long enough that the hold does not outlive the tokens; auth_expiring
        // is still answered with reauth if it comes.
        ACCESS_TOKEN_TTL_SECONDS: String(Math.min(24 * 3600, Math.max(900, SECONDS + 600))),
      },
      authPort,
    ),
    start(
      'ws-gateway',
      {
        ...shared,
        AUTH_SERVICE_URL: `http://127.0.0.1:${authPort}`,
        EXCHANGE_CLIENT_KEY: key,
        UPGRADE_RATE_LIMIT: '1000000/60s',
        MAX_CONNECTIONS_PER_USER: String(perUser + 5),
        DRAIN_SECONDS: '0',
        // The soak is about holding sockets, not about upgrade latency on a
        // shared machine: a slow exchange should not trip the breaker.
        EXCHANGE_TIMEOUT_MS: '10000',
      },
      await freePort(),
    ),
  ]);
  const wsUrl = `ws://127.0.0.1:${gateway.port}/ws`;
  const tokens = await Promise.all(
    emails.map(
      async (email) =>
        (await post(`${auth.url}/auth/login`, { email, password: PASSWORD })).access_token,
    ),
  );
  const ticketFor = async (i) =>
    (await post(`${auth.url}/websocket/ticket`, {}, tokens[i % USERS])).ticket;

  const rssIdle = await rss(gateway.url);
  const sockets = new Array(N);
  let t0 = performance.now();
  await pool(N, CONCURRENCY, async (i) => {
    // Like a client: a refused upgrade is retried with a new ticket, after a backoff.
    for (let attempt = 0; attempt < 5 && !sockets[i]; attempt++) {
      if (attempt > 0) await sleep(500 * 2 ** attempt * Math.random());
      sockets[i] = await openSocket(wsUrl, await ticketFor(i), () => ticketFor(i));
    }
  });
  const openSeconds = (performance.now() - t0) / 1000;
  const open = sockets.filter(Boolean);
  log(
    `opened ${open.length}/${N} in ${openSeconds.toFixed(1)} s; refused attempts (retried): ${JSON.stringify(stats.refused)}`,
  );

  holding = true;
  const rssOpen = await rss(gateway.url);
  let rssMax = rssOpen;
  const pinger = setInterval(() => {
    // One tick every 100 ms pings 1/(APP_PING_MS/100) of the sockets.
    const slice = Math.ceil(open.length / (APP_PING_MS / 100));
    for (let k = 0; k < slice; k++) {
      const ws = open[(pinger.cursor = ((pinger.cursor ?? -1) + 1) % open.length)];
      if (ws.readyState === WebSocket.OPEN) {
        ws.send('{"type":"ping"}');
        stats.pingsSent++;
      }
    }
  }, 100);
  t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await sleep(Math.min(10_000, SECONDS * 1000 - (performance.now() - t0)));
    rssMax = Math.max(rssMax, await rss(gateway.url));
    const alive = open.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    log(
      `  t+${((performance.now() - t0) / 1000).toFixed(0)} s: ${alive} open, gateway RSS ${(rssMax / 2 ** 20).toFixed(0)} MiB max`,
    );
  }
  clearInterval(pinger);
  await sleep(1000); // the last pongs
  const survived = open.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  const rssEnd = await rss(gateway.url);
  holding = false;
  for (const ws of open) ws.terminate();

  const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const summary = {
    connections: N,
    seconds: SECONDS,
    opened: open.length,
    survived,
    closes: stats.closes,
    closes_1011: stats.closes[1011] ?? 0,
    closes_1006: stats.closes[1006] ?? 0,
    refused: stats.refused,
    app_pings_sent: stats.pingsSent,
    pongs: stats.pongs,
    server_ws_pings: stats.serverPings,
    reauth_ok: stats.reauthOk,
    errors: stats.errors,
    gateway_rss_bytes: { idle: rssIdle, open: rssOpen, max: rssMax, end: rssEnd },
    open_seconds: Number(openSeconds.toFixed(1)),
  };
  log('');
  log(`survived        ${survived}/${N} (opened ${open.length})`);
  log(
    `closes          ${JSON.stringify(stats.closes)}  (1011: ${summary.closes_1011}, 1006: ${summary.closes_1006})`,
  );
  log(
    `pings / pongs   ${stats.pingsSent} / ${stats.pongs}  (server WebSocket pings answered: ${stats.serverPings})`,
  );
  log(
    `gateway RSS     idle ${mib(rssIdle)}, open ${mib(rssOpen)}, max ${mib(rssMax)}, end ${mib(rssEnd)}  (${((rssOpen - rssIdle) / Math.max(1, open.length) / 1024).toFixed(1)} KiB per socket)`,
  );
  log(`SOAK_RESULT ${JSON.stringify(summary)}`);
  if (survived < N || summary.closes_1011 > 0) process.exitCode = 1;
}

let cleaning;
const finish = () =>
  (cleaning ??= cleanup().then((removed) =>
    log(`cleaned up: processes stopped, ${removed} Redis keys removed`),
  ));
process.once('SIGINT', () => {
  process.exitCode = 130;
  finish().finally(() => process.exit());
});

main()
  .catch((error) => {
    process.stderr.write(`soak failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(() => finish());
