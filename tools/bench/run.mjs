// AdmitOne benchmark with peers: `npm run bench` (builds first), or
// `node tools/bench/run.mjs [--tiny | --scale=tiny|moderate|full] [--servers=bare,redis,socketio,admitone]
//   [--phases=upgrade,memory,full,relay,hold] [--out=dist/bench] [--cpu-prof=DIR]`
// and every count by flag or BENCH_* variable (see lib/common.mjs SCALES).
//
// Every server is its own process with tools/bench/lib/probe.cjs preloaded
// (CPU time and memory after a forced GC, over IPC); each phase gets a fresh
// one. Load comes from load-client.mjs processes (raw `net`, cheaper per
// connection than any server). Results: a markdown table and a JSON file in
// --out, the table printed too. Figures only: nothing here asserts a speed.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Redis from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  freePort,
  killAll,
  median,
  percentile,
  readConfig,
  sleep,
  slope,
  spawnServer,
  startClient,
} from './lib/common.mjs';

const config = readConfig();
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
// Other builds can be compared (A/B on one machine): BENCH_AUTH_MAIN, BENCH_GATEWAY_MAIN.
config.authMain = process.env.BENCH_AUTH_MAIN ?? here('../../dist/apps/auth-service/main.js');
config.gatewayMain = process.env.BENCH_GATEWAY_MAIN ?? here('../../dist/apps/ws-gateway/main.js');
const RUN = randomBytes(4).toString('hex');
const PREFIX = `bench:${RUN}:`;
const log = (line) => process.stderr.write(`[bench] ${line}\n`);
const redis = new Redis(config.redisUrl);

// The very script the agent workers emit events with (the bus contract's one source).
const EMIT_LUA = readFileSync(here('../../libs/agent-events/src/lua/emit-agent-event.lua'), 'utf8');

function waitListening(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer did not listen')), 20_000);
    child.on('message', (m) => {
      if (m?.listening) {
        clearTimeout(timer);
        resolve(m.listening);
      }
    });
    child.once('exit', (code) => reject(new Error(`peer exited with ${code}`)));
  });
}

async function waitReady(url, child, name) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} did not become ready`);
}

async function pool(count, concurrency, task) {
  const out = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------- servers

function peer(name, label, script, env = {}, target = {}) {
  return {
    name,
    label,
    async start({ extraEnv = {} } = {}) {
      const child = spawnServer(here(script), {
        env: { REDIS_URL: config.redisUrl, BENCH_PREFIX: PREFIX, ...env, ...extraEnv },
      });
      const port = await waitListening(child);
      return {
        target: { host: '127.0.0.1', port, path: '/', ...target },
        procs: { server: child },
        stop: () => child.stop(),
      };
    },
  };
}

const bare = {
  ...peer('bare', 'bare `ws` (no auth)', 'peers/bare-ws.mjs'),
  credentials: async () => undefined,
  issue: () => ({ kind: 'none' }),
};

const redisTicket = {
  ...peer(
    'redis',
    '`ws` + Redis GETDEL ticket',
    'peers/ws-redis-ticket.mjs',
    {},
    {
      protocol: 'ticket.{}',
    },
  ),
  async credentials(count) {
    const tickets = Array.from({ length: count }, () => randomBytes(16).toString('base64url'));
    const pipe = redis.pipeline();
    tickets.forEach((t, i) => pipe.set(`${PREFIX}ticket:${t}`, `user-${i % 100}`, 'EX', 600));
    await pipe.exec();
    return tickets;
  },
  issue: () => ({ kind: 'redis', redisUrl: config.redisUrl, prefix: PREFIX }),
};

const jwtKey = await generateKeyPair('ES256', { extractable: true });
const privateJwk = { ...(await exportJWK(jwtKey.privateKey)), kid: 'bench', alg: 'ES256' };
const publicJwk = await exportJWK(jwtKey.publicKey);
const socketio = {
  ...peer(
    'socketio',
    'Socket.IO 4 + JWT middleware',
    'peers/socketio-jwt.mjs',
    { PUBLIC_JWK: JSON.stringify(publicJwk) },
    { path: '/socket.io/?EIO=4&transport=websocket', sio: true },
  ),
  async credentials(count) {
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
          .setSubject(`user-${i % 100}`)
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(jwtKey.privateKey),
      ),
    );
  },
  issue: () => ({ kind: 'jwt', privateJwk }),
};

const exchangeKey = randomBytes(32).toString('base64url');
const signingKeys = JSON.stringify([
  {
    ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
    kid: 'bench-1',
    alg: 'ES256',
  },
]);
const admitone = {
  name: 'admitone',
  label: '**AdmitOne** (gateway + auth-service)',
  users: [],
  issuance: [],
  current: null,
  authEnv() {
    return {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      REDIS_URL: config.redisUrl,
      REDIS_PREFIX: PREFIX,
      EXCHANGE_CLIENT_KEYS: exchangeKey,
      JWT_SIGNING_KEYS: signingKeys,
      ACCESS_TOKEN_TTL_SECONDS: '86400',
      // The longest ticket life allowed: on a busy machine, issuing a batch's
      // tickets can take longer than the default 30 s before the batch starts.
      TICKET_TTL_SECONDS: '300',
      LOGIN_RATE_LIMIT: '1000000/60s',
      TICKET_RATE_LIMIT: '100000000/60s',
    };
  },
  async start({ heartbeatMs } = {}) {
    const [authPort, gatewayPort] = [await freePort(), await freePort()];
    const prof = (name) =>
      config.cpuProfDir
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${config.cpuProfDir}`,
            `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
          ]
        : [];
    const auth = spawnServer(config.authMain, {
      env: {
        ...this.authEnv(),
        PORT: String(authPort),
        ...(this.seed ? { SEED_USERS: this.seed } : {}),
      },
      nodeArgs: prof('auth-service'),
    });
    const gateway = spawnServer(config.gatewayMain, {
      env: {
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        REDIS_URL: config.redisUrl,
        REDIS_PREFIX: PREFIX,
        AUTH_SERVICE_URL: `http://127.0.0.1:${authPort}`,
        EXCHANGE_CLIENT_KEY: exchangeKey,
        UPGRADE_RATE_LIMIT: '100000000/60s',
        MAX_CONNECTIONS_PER_USER: '10000',
        DRAIN_SECONDS: '0',
        ...(heartbeatMs ? { HEARTBEAT_INTERVAL_MS: String(heartbeatMs) } : {}),
      },
      nodeArgs: prof('ws-gateway'),
    });
    const authUrl = `http://127.0.0.1:${authPort}`;
    await Promise.all([
      waitReady(authUrl, auth, 'auth-service'),
      waitReady(`http://127.0.0.1:${gatewayPort}`, gateway, 'ws-gateway'),
    ]);
    this.current = { authUrl, auth };
    return {
      target: {
        host: '127.0.0.1',
        port: gatewayPort,
        path: '/ws',
        protocol: 'agent.v1, ticket.{}',
      },
      procs: { gateway, 'auth-service': auth },
      stop: () => Promise.all([gateway.stop(), auth.stop()]),
    };
  },
  /** Creates the users once (argon2 hashing at seed and login is slow) and logs each in. */
  async setup(count) {
    const emails = Array.from({ length: count }, (_, i) => `bench-${i}@bench.test`);
    this.seed = emails.map((e) => `${e}:bench-password-${RUN}`).join(',');
    const server = await this.start();
    this.seed = undefined;
    this.users = await pool(count, 2, async (i) => {
      const response = await fetch(`${this.current.authUrl}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: emails[i], password: `bench-password-${RUN}` }),
      });
      const body = await response.json();
      if (!body.access_token)
        throw new Error(`login failed: ${response.status} ${JSON.stringify(body)}`);
      const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url'));
      return { bearer: body.access_token, userId: claims.sub };
    });
    await server.stop();
  },
  /** Tickets over HTTP, outside the timed part; records auth-service CPU per ticket issued. */
  async credentials(count) {
    const before = await this.current.auth.probe();
    const tickets = await pool(count, 20, async (i) => {
      const response = await fetch(`${this.current.authUrl}/websocket/ticket`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.users[i % this.users.length].bearer}` },
      });
      const body = await response.json();
      if (!body.ticket)
        throw new Error(`ticket refused: ${response.status} ${JSON.stringify(body)}`);
      return body.ticket;
    });
    const after = await this.current.auth.probe();
    this.issuance.push({ count, cpuMicros: after.cpuMicros - before.cpuMicros });
    return tickets;
  },
  issue() {
    return {
      kind: 'admitone',
      authUrl: this.current.authUrl,
      bearers: this.users.map((u) => u.bearer),
    };
  },
};

const ALL = { bare, redis: redisTicket, socketio, admitone };
const servers = config.servers.map((n) => {
  if (!ALL[n]) throw new Error(`unknown server ${n}`);
  return ALL[n];
});

// ---------------------------------------------------------------- phases

async function cpuOf(procs) {
  const out = {};
  for (const [name, p] of Object.entries(procs)) out[name] = (await p.probe()).cpuMicros;
  return out;
}

/** Timed batches through one client: conn/s, latency, CPU per accepted upgrade per process. */
async function timedBatches(server, running, client, { count, repeats, concurrency, fullPath }) {
  const rates = [];
  const latencies = [];
  const cpu = {};
  let clientCpuMicros = 0;
  let accepted = 0;
  let failures = 0;
  const statuses = {};
  for (let r = 0; r < repeats; r++) {
    const credentials = fullPath ? undefined : await server.credentials(count);
    const before = await cpuOf(running.procs);
    const result = await client.call('run', {
      target: running.target,
      credentials,
      count,
      concurrency,
      hold: true,
      issue: fullPath ? server.issue() : undefined,
    });
    const after = await cpuOf(running.procs);
    const ok = result.latencies.length;
    accepted += ok;
    clientCpuMicros += result.clientCpuMicros;
    failures += result.failures;
    for (const [k, v] of Object.entries(result.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    rates.push((ok / result.elapsedMs) * 1000);
    latencies.push(...result.latencies);
    for (const name of Object.keys(before))
      cpu[name] = (cpu[name] ?? 0) + after[name] - before[name];
    await client.call('closeAll');
    await sleep(Math.min(300, config.settleMs));
  }
  const cpuPerConn = {};
  for (const [name, micros] of Object.entries(cpu)) cpuPerConn[name] = micros / 1000 / accepted;
  return {
    connPerSec: median(rates),
    rates,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMsPerConn: cpuPerConn,
    cpuMsPerConnTotal: Object.values(cpuPerConn).reduce((a, b) => a + b, 0),
    clientCpuMsPerConn: clientCpuMicros / 1000 / accepted,
    accepted,
    failures,
    statuses,
  };
}

async function phaseUpgrade(server, client) {
  const running = await server.start();
  try {
    server.issuance = [];
    const warm = await client.call('run', {
      target: running.target,
      credentials: await server.credentials(config.warmup),
      count: config.warmup,
      concurrency: config.concurrency,
      hold: false,
    });
    if (warm.failures)
      log(`${server.name}: warm-up refused ${warm.failures} (${JSON.stringify(warm.statuses)})`);
    server.issuance = [];
    const loaded = await timedBatches(server, running, client, {
      count: config.connections,
      repeats: config.repeats,
      concurrency: config.concurrency,
    });
    const one = await client.call('run', {
      target: running.target,
      credentials: await server.credentials(config.c1),
      count: config.c1,
      concurrency: 1,
      hold: false,
    });
    const out = {
      ...loaded,
      c1p50: percentile(one.latencies, 50),
      c1p99: percentile(one.latencies, 99),
      failures: loaded.failures + one.failures,
    };
    if (server.issuance?.length) {
      const t = server.issuance.reduce((a, b) => ({
        count: a.count + b.count,
        cpuMicros: a.cpuMicros + b.cpuMicros,
      }));
      out.authCpuMsPerTicketIssued = t.cpuMicros / 1000 / t.count;
    }
    return out;
  } finally {
    await running.stop();
  }
}

async function phaseMemory(server, client) {
  const running = await server.start();
  try {
    const edge = running.procs.gateway ?? running.procs.server;
    const ns = [0];
    const base = await edge.probe(true);
    const rss = [base.rss];
    const heap = [base.heapUsed];
    let open = 0;
    let failures = 0;
    for (const n of config.memoryN) {
      const add = n - open;
      if (add <= 0) continue;
      const result = await client.call('run', {
        target: running.target,
        credentials: await server.credentials(add),
        count: add,
        concurrency: config.concurrency,
        hold: true,
      });
      failures += result.failures;
      open += result.latencies.length;
      await sleep(config.settleMs);
      const m = await edge.probe(true);
      ns.push(open);
      rss.push(m.rss);
      heap.push(m.heapUsed);
    }
    await client.call('closeAll');
    return {
      rssKiBPerConn: slope(ns, rss) / 1024,
      heapKiBPerConn: slope(ns, heap) / 1024,
      samples: ns.map((n, i) => ({ n, rss: rss[i], heapUsed: heap[i] })),
      failures,
    };
  } finally {
    await running.stop();
  }
}

async function phaseFull(server, client) {
  const running = await server.start();
  try {
    await client.call('run', {
      target: running.target,
      count: Math.ceil(config.fullConnections / 2),
      concurrency: config.concurrency,
      hold: false,
      issue: server.issue(),
    });
    return await timedBatches(server, running, client, {
      count: config.fullConnections,
      repeats: config.repeats,
      concurrency: config.concurrency,
      fullPath: true,
    });
  } finally {
    await running.stop();
  }
}

async function phaseRelay(server, client) {
  const n = config.relayUsers;
  let running;
  let credentials;
  let userIds;
  if (server === admitone) {
    running = await server.start();
    userIds = server.users.slice(0, n).map((u) => u.userId);
    credentials = await server.credentials(n);
  } else {
    running = await server.start({
      extraEnv: { RELAY_REDIS_URL: config.redisUrl, RELAY_PREFIX: PREFIX },
    });
    running.target = { ...running.target, path: '/?user={}' };
    userIds = Array.from({ length: n }, (_, i) => `relay-user-${i}`);
    credentials = userIds;
  }
  try {
    const result = await client.call('relay', {
      target: running.target,
      credentials,
      userIds,
      rate: config.relayRate,
      seconds: config.relaySeconds,
      redisUrl: config.redisUrl,
      prefix: PREFIX,
      emitLua: EMIT_LUA,
    });
    await client.call('closeAll');
    return {
      users: n,
      rate: config.relayRate,
      published: result.published,
      received: result.received,
      failedSockets: result.failed,
      p50: percentile(result.latencies, 50),
      p99: percentile(result.latencies, 99),
    };
  } finally {
    await running.stop();
  }
}

async function phaseHold(server, clients) {
  const running = await server.start({ heartbeatMs: config.heartbeatMs });
  try {
    const edge = running.procs.gateway ?? running.procs.server;
    const base = await edge.probe(true);
    // Tickets live 30 s by default (at most 300): issue them in chunks just
    // before they are used, not all 19,000 up front.
    const per = Math.ceil(config.hold / clients.length);
    const chunk = 1000;
    const results = await Promise.all(
      clients.map(async (client, c) => {
        const total = Math.max(0, Math.min(per, config.hold - c * per));
        const out = { latencies: [], failures: 0, statuses: {} };
        for (let done = 0; done < total; done += chunk) {
          const count = Math.min(chunk, total - done);
          const r = await client.call('run', {
            target: running.target,
            credentials: await server.credentials(count),
            count,
            concurrency: config.concurrency,
            hold: true,
          });
          out.latencies.push(...r.latencies);
          out.failures += r.failures;
          for (const [k, v] of Object.entries(r.statuses))
            out.statuses[k] = (out.statuses[k] ?? 0) + v;
        }
        return out;
      }),
    );
    const opened = results.reduce((a, r) => a + r.latencies.length, 0);
    const peak = await edge.probe(true);
    await sleep(config.holdSeconds * 1000);
    const counts = await Promise.all(clients.map((c) => c.call('count')));
    const end = await edge.probe(true);
    await Promise.all(clients.map((c) => c.call('closeAll')));
    const stillOpen = counts.reduce((a, c) => a + c.open, 0);
    const statuses = {};
    for (const r of results)
      for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    return {
      requested: config.hold,
      opened,
      refused: statuses,
      stillOpen,
      lost: counts.reduce((a, c) => a + c.lost, 0),
      heldSeconds: config.holdSeconds,
      heartbeatMs: server === admitone ? config.heartbeatMs : null,
      rssMiB: peak.rss / 2 ** 20,
      rssEndMiB: end.rss / 2 ** 20,
      rssKiBPerConn: (peak.rss - base.rss) / 1024 / Math.max(1, opened),
    };
  } finally {
    await running.stop();
  }
}

// ---------------------------------------------------------------- report

const fmt = (v, digits = 1) =>
  typeof v === 'number' && Number.isFinite(v)
    ? v >= 1000
      ? Math.round(v).toLocaleString('en-US')
      : v.toFixed(v >= 100 ? 0 : digits)
    : '—';

/** The figures of the table: [title, value getter, lower is better]. */
const COLUMNS = [
  ['upgrades/s (median of repeats)', (r) => r.upgrade?.connPerSec, false],
  ['handshake p50 ms, under load', (r) => r.upgrade?.p50, true],
  ['handshake p99 ms, under load', (r) => r.upgrade?.p99, true],
  ['handshake p50 ms, concurrency 1', (r) => r.upgrade?.c1p50, true],
  ['handshake p99 ms, concurrency 1', (r) => r.upgrade?.c1p99, true],
  [
    'CPU ms per upgrade: edge process (gateway / the peer)',
    (r) => r.upgrade?.cpuMsPerConn.gateway ?? r.upgrade?.cpuMsPerConn.server,
    true,
  ],
  ['CPU ms per upgrade: auth-service', (r) => r.upgrade?.cpuMsPerConn['auth-service'], true],
  ['CPU ms per upgrade: all server processes', (r) => r.upgrade?.cpuMsPerConnTotal, true],
  ['auth-service CPU ms per ticket issued', (r) => r.upgrade?.authCpuMsPerTicketIssued, true],
  ['RSS KiB per idle connection (slope)', (r) => r.memory?.rssKiBPerConn, true],
  ['heap KiB per idle connection (slope, after GC)', (r) => r.memory?.heapKiBPerConn, true],
  ['load client CPU ms per upgrade (for scale)', (r) => r.upgrade?.clientCpuMsPerConn, true],
  ['full path (issue + upgrade) conn/s', (r) => r.full?.connPerSec, false],
  ['full path p50 ms', (r) => r.full?.p50, true],
  ['full path CPU ms per connection, all processes', (r) => r.full?.cpuMsPerConnTotal, true],
  ['relay p50 ms (publish to frame)', (r) => r.relay?.p50, true],
  ['relay p99 ms', (r) => r.relay?.p99, true],
  ['held idle connections: RSS MiB', (r) => r.hold?.rssMiB, true],
  [
    'held idle connections: still open / opened',
    (r) => (r.hold ? r.hold.stillOpen / r.hold.opened : undefined),
    false,
  ],
];

/** One row per figure, one column per server, then AdmitOne's ratio to each peer. */
function table(results) {
  const names = Object.keys(results);
  const peers = results.admitone ? names.filter((n) => n !== 'admitone') : [];
  const header = [
    'figure',
    ...names.map((n) => results[n].label),
    ...peers.map((n) => `AdmitOne ÷ ${results[n].label}`),
  ];
  const rows = COLUMNS.map(([title, get]) => [
    title,
    ...names.map((n) => fmt(get(results[n]), 2)),
    ...peers.map((n) => {
      const a = get(results.admitone);
      const p = get(results[n]);
      return Number.isFinite(a) && Number.isFinite(p) && p !== 0 ? `${(a / p).toFixed(2)}×` : '—';
    }),
  ]);
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i ? '---:' : '---'))), ...rows.map(line)].join(
    '\n',
  );
}

// ---------------------------------------------------------------- main

async function main() {
  const startedAt = new Date();
  mkdirSync(config.out, { recursive: true });
  const holdClients = [];
  const client = await startClient();
  const results = {};
  for (const s of servers) results[s.name] = { label: s.label };
  if (servers.includes(admitone)) {
    const users = Math.max(
      config.phases.includes('relay') ? config.relayUsers : 1,
      Math.ceil(config.hold / 9000) + 1,
      2,
    );
    log(`AdmitOne: seeding and logging in ${users} users`);
    await admitone.setup(users);
  }
  const phases = {
    upgrade: (s) => phaseUpgrade(s, client),
    memory: (s) => phaseMemory(s, client),
    full: (s) => phaseFull(s, client),
    relay: (s) => (s === admitone || s === bare ? phaseRelay(s, client) : undefined),
    hold: async (s) => {
      if (s !== admitone && s !== bare) return undefined;
      while (holdClients.length < config.holdClients) holdClients.push(await startClient());
      return phaseHold(s, holdClients);
    },
  };
  for (const phase of config.phases) {
    if (!phases[phase]) throw new Error(`unknown phase ${phase}`);
    for (const s of servers) {
      const t0 = Date.now();
      const result = await phases[phase](s);
      if (result === undefined) continue;
      results[s.name][phase] = result;
      log(`${phase} ${s.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const report = {
    date: startedAt.toISOString(),
    machine: {
      nproc: cpus().length,
      cpu: cpus()[0]?.model,
      node: process.version,
      platform: process.platform,
    },
    config: { ...config, redisUrl: undefined },
    results,
  };
  const markdown =
    `AdmitOne bench, scale ${config.scale}, ${startedAt.toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}\n` +
    `upgrade: ${config.warmup} warm-up, ${config.repeats} × ${config.connections} at concurrency ${config.concurrency} ("under load"), ${config.c1} at concurrency 1; ` +
    `memory slope over ${config.memoryN.join('/')}; full path ${config.repeats} × ${config.fullConnections}; ` +
    `relay ${config.relayUsers} users at ${config.relayRate} events/s for ${config.relaySeconds} s (AdmitOne vs the bare \`ws\` forwarder); ` +
    `held ${config.hold} idle connections for ${config.holdSeconds} s (AdmitOne heartbeat every ${config.heartbeatMs} ms)\n\n` +
    table(results) +
    '\n';
  writeFileSync(`${config.out}/results.json`, JSON.stringify(report, null, 2));
  writeFileSync(`${config.out}/results.md`, markdown);
  process.stdout.write(
    `\n${markdown}\nwritten: ${config.out}/results.json, ${config.out}/results.md\n`,
  );
  for (const c of [client, ...holdClients]) await c.call('exit');
}

async function cleanup() {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    process.stderr.write(`bench interrupted (${signal})\n`);
    killAll();
    void cleanup().finally(() => process.exit(130));
  });

main()
  .catch((error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
    killAll();
  })
  .finally(cleanup);
