// `npm start`: build and run the whole system on this machine. Without
// REDIS_URL every service uses in-memory stores (one instance each).
import { spawn, spawnSync } from 'node:child_process';

const services = [
  { name: 'auth-service', port: process.env.AUTH_PORT ?? '8081' },
  { name: 'ws-gateway', port: process.env.GATEWAY_PORT ?? '8080' },
];

const build = spawnSync(
  'npx',
  ['nx', 'run-many', '-t', 'build', '-p', ...services.map((s) => s.name)],
  {
    stdio: 'inherit',
  },
);
if (build.status !== 0) process.exit(build.status ?? 1);

const children = services.map(({ name, port }) =>
  spawn(process.execPath, [`dist/apps/${name}/main.js`], {
    stdio: 'inherit',
    env: { ...process.env, PORT: port },
  }),
);

process.stdout.write(
  [
    '',
    'AdmitOne is starting:',
    ...services.map((s) => `  ${s.name.padEnd(13)} http://localhost:${s.port}`),
    '',
  ].join('\n') + '\n',
);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill(signal);
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const child of children) {
  child.on('exit', (code) => {
    if (!stopping) {
      stop('SIGTERM');
      process.exitCode = code ?? 1;
    }
  });
}
