// `npm start`: build and run the whole system on this machine.
// Without REDIS_URL every service keeps its state in memory (one instance
// each) and the gateway runs the reference agent in-process; with REDIS_URL
// the agent worker runs as its own process, as in production.
//
// Logs are printed readably, one line per event (tools/scripts/dev-logs.mjs);
// `npm start -- --json` prints the services' JSON lines as production does.
// `npm start -- --with-oidc` also runs a local OpenID provider
// (tools/scripts/demo-oidc-provider.mjs, on OIDC_PORT, default 8083), trusted
// by auth-service (OIDC_ISSUERS) and offered by the demo page as "Sign in
// with the local OpenID provider".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { prettyLogs } from './dev-logs.mjs';

const redisUrl = process.env.REDIS_URL;
// AGENT_WORKER=none leaves the bus to an agent of your own (docs/agents.md).
const withWorker = Boolean(redisUrl) && process.env.AGENT_WORKER !== 'none';
const json = process.argv.includes('--json');
const withOidc = process.argv.includes('--with-oidc');
const ports = {
  auth: process.env.AUTH_PORT ?? '8081',
  gateway: process.env.GATEWAY_PORT ?? '8080',
  worker: process.env.WORKER_PORT ?? '8082',
  demo: process.env.DEMO_PORT ?? '4200',
  oidc: process.env.OIDC_PORT ?? '8083',
};
const authUrl = `http://localhost:${ports.auth}`;
const hasDemo = existsSync('apps/web-demo/project.json');

/** The local provider's settings, or null without --with-oidc. */
const oidc = withOidc
  ? {
      issuer: `http://127.0.0.1:${ports.oidc}`,
      clientId: 'admitone-demo',
      redirectUri: `http://localhost:${ports.demo}/`,
      name: 'the local OpenID provider',
    }
  : null;
if (oidc) {
  try {
    createRequire(import.meta.url).resolve('oidc-provider');
  } catch {
    process.stderr.write(
      '--with-oidc needs the oidc-provider package (a devDependency): run npm ci without --omit=dev\n',
    );
    process.exit(1);
  }
}

const services = [
  {
    name: 'auth-service',
    port: ports.auth,
    env: oidc
      ? {
          OIDC_ISSUERS: JSON.stringify([
            { issuer: oidc.issuer, audiences: [oidc.clientId], algorithms: ['RS256'] },
          ]),
        }
      : {},
  },
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
          env: {
            AUTH_URL: authUrl,
            GATEWAY_URL: `ws://localhost:${ports.gateway}/ws`,
            ...(oidc
              ? {
                  DEMO_OIDC_ISSUER: oidc.issuer,
                  DEMO_OIDC_CLIENT_ID: oidc.clientId,
                  DEMO_OIDC_NAME: oidc.name,
                }
              : {}),
          },
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
const provider = oidc
  ? spawn(process.execPath, ['tools/scripts/demo-oidc-provider.mjs'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        PATH: process.env.PATH,
        PORT: ports.oidc,
        CLIENT_ID: oidc.clientId,
        REDIRECT_URI: oidc.redirectUri,
      },
    })
  : null;

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) if (child.exitCode === null) child.kill(signal);
  if (provider?.exitCode === null) provider.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const { name, child } of [
  ...children,
  ...(provider ? [{ name: 'oidc-provider', child: provider }] : []),
]) {
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
      ...(oidc
        ? [
            line(
              'OpenID provider',
              `${oidc.issuer}   ("Sign in with ${oidc.name}" on the demo; any login name)`,
            ),
          ]
        : []),
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
