// `npm start`: build and run the whole system on this machine.
// Without REDIS_URL every service keeps its state in memory (one instance
// each) and the gateway runs the reference agent in-process; with REDIS_URL
// the agent worker runs as its own process, as in production.
//
// Logs are printed readably, one line per event (tools/scripts/dev-logs.mjs);
// `npm start -- --json` prints the services' JSON lines as production does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { prettyLogs } from './dev-logs.mjs';

const redisUrl = process.env.REDIS_URL;
// AGENT_WORKER=none leaves the bus to an agent of your own (docs/agents.md).
const withWorker = Boolean(redisUrl) && process.env.AGENT_WORKER !== 'none';
const json = process.argv.includes('--json');
const ports = {
  auth: process.env.AUTH_PORT ?? '8081',
  gateway: process.env.GATEWAY_PORT ?? '8080',
  worker: process.env.WORKER_PORT ?? '8082',
  demo: process.env.DEMO_PORT ?? '4200',
};
const authUrl = `http://localhost:${ports.auth}`;
const hasDemo = existsSync('apps/web-demo/project.json');

const services = [
  { name: 'auth-service', port: ports.auth, env: {} },
  {
    name: 'ws-gateway',
    port: ports.gateway,
    env: { AUTH_SERVICE_URL: `http://127.0.0.1:${ports.auth}` },
  },
  ...(withWorker ? [{ name: 'agent-worker', port: ports.worker, env: {} }] : []),
  ...(hasDemo
    ? [
        {
          name: 'web-demo',
          port: ports.demo,
          env: { AUTH_URL: authUrl, GATEWAY_URL: `ws://localhost:${ports.gateway}/ws` },
        },
      ]
    : []),
];

const build = spawnSync(
  'npx',
  ['nx', 'run-many', '-t', 'build', '-p', ...services.map((s) => s.name)],
  { stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);

const children = services.map(({ name, port, env }) => {
  const child = spawn(process.execPath, [`dist/apps/${name}/main.js`], {
    stdio: ['ignore', json ? 'inherit' : 'pipe', 'inherit'],
    env: { NODE_ENV: 'development', ...process.env, ...env, PORT: port },
  });
  if (!json) child.stdout.pipe(prettyLogs());
  return { name, port, child };
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) if (child.exitCode === null) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const { name, child } of children) {
  child.on('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${code}); stopping the rest\n`);
      process.exitCode = code || 1;
      stop('SIGTERM');
    }
  });
}

async function ready(port) {
  for (let i = 0; i < 150 && !stopping; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

const up = await Promise.all(children.map(({ port }) => ready(port)));
if (!stopping) {
  const line = (label, value) => `  ${label.padEnd(16)} ${value}`;
  process.stdout.write(
    [
      '',
      `AdmitOne is ${up.every(Boolean) ? 'up' : 'starting (some services are not ready yet)'}:`,
      ...(hasDemo ? [line('web demo', `http://localhost:${ports.demo}`)] : []),
      line('auth-service', `${authUrl}   (OpenAPI: ${authUrl}/docs)`),
      line('ws-gateway', `ws://localhost:${ports.gateway}/ws`),
      ...(withWorker
        ? [line('agent-worker', `http://localhost:${ports.worker}/health/ready`)]
        : []),
      line(
        'stores',
        redisUrl
          ? `Redis at ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`
          : 'in memory (set REDIS_URL for Redis)',
      ),
      line('development login', 'demo@example.com / demo-password'),
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
