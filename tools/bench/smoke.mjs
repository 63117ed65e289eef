// `npm run bench:smoke`: runs the bench at tiny scale and checks that it ran
// and produced every figure as a finite number. It never checks a speed: the
// machines it runs on are shared and noisy. Exit code 0 when complete.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = mkdtempSync(join(tmpdir(), 'admitone-bench-'));
try {
  const run = spawnSync(
    process.execPath,
    [fileURLToPath(new URL('./run.mjs', import.meta.url)), '--tiny', `--out=${out}`],
    { stdio: 'inherit' },
  );
  assert.equal(run.status, 0, 'the tiny bench run failed');
  const report = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const markdown = readFileSync(join(out, 'results.md'), 'utf8');

  const every = [
    'upgrade.connPerSec',
    'upgrade.p50',
    'upgrade.p99',
    'upgrade.c1p50',
    'upgrade.c1p99',
    'upgrade.cpuMsPerConnTotal',
    'upgrade.clientCpuMsPerConn',
    'memory.rssKiBPerConn',
    'memory.heapKiBPerConn',
    'full.connPerSec',
    'full.p50',
    'full.p99',
    'full.cpuMsPerConnTotal',
  ];
  const expected = {
    bare: [...every, 'upgrade.cpuMsPerConn.server', 'relay.p50', 'relay.p99', 'hold.rssMiB'],
    redis: [...every, 'upgrade.cpuMsPerConn.server'],
    socketio: [...every, 'upgrade.cpuMsPerConn.server'],
    admitone: [
      ...every,
      'upgrade.cpuMsPerConn.gateway',
      'upgrade.cpuMsPerConn.auth-service',
      'upgrade.authCpuMsPerTicketIssued',
      'full.cpuMsPerConn.gateway',
      'full.cpuMsPerConn.auth-service',
      'relay.p50',
      'relay.p99',
      'hold.rssMiB',
      'hold.rssKiBPerConn',
    ],
  };
  const problems = [];
  for (const [server, paths] of Object.entries(expected)) {
    const result = report.results[server];
    if (!result) {
      problems.push(`${server}: no results`);
      continue;
    }
    for (const path of paths) {
      const value = path.split('.').reduce((o, k) => o?.[k], result);
      if (typeof value !== 'number' || !Number.isFinite(value))
        problems.push(`${server}.${path} = ${value}`);
    }
    // Every connection the bench asked for was accepted: refusals would mean
    // the figures measured something else (a misconfigured run, not a slow one).
    for (const phase of ['upgrade', 'memory', 'full'])
      if (result[phase]?.failures !== 0)
        problems.push(`${server}.${phase}: ${result[phase]?.failures} connections refused`);
    if (result.relay && result.relay.received !== result.relay.published)
      problems.push(`${server}.relay: ${result.relay.received}/${result.relay.published} events`);
    if (result.hold && result.hold.opened !== result.hold.requested)
      problems.push(`${server}.hold: opened ${result.hold.opened}/${result.hold.requested}`);
  }
  for (const key of ['nproc', 'node'])
    if (!report.machine?.[key]) problems.push(`machine.${key} missing`);
  if (!/\| upgrades\/s/.test(markdown)) problems.push('results.md has no table');
  assert.deepEqual(problems, [], `incomplete bench results:\n${problems.join('\n')}`);
  process.stdout.write('bench smoke: every figure present and finite\n');
} finally {
  rmSync(out, { recursive: true, force: true });
}
