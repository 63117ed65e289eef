// Top self-time frames of V8 .cpuprofile files (from `node --cpu-prof`, e.g.
// `node tools/bench/run.mjs --cpu-prof=DIR`):
//   node tools/bench/profile-summary.mjs FILE.cpuprofile... [--top=25] [--skip=SECONDS] [--callers=NAME]
// Each frame's self time as a share of the process's busy time (idle,
// program excluded), named `function file:line`. --skip leaves out the first
// seconds of each profile (the process's start). --callers=NAME attributes
// the self time of frames named NAME to their nearest caller in application
// or package code (outside node's internals), to see who pays for it.
// --group sums self time per package (node internals, the app bundle, or the
// native frame's name) instead of per frame.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const top = Number(option('top') ?? 25);
const skipMicros = Number(option('skip') ?? 0) * 1e6;
const callers = option('callers');
const group = process.argv.includes('--group');

const packageOf = ({ functionName, url }) => {
  if (!url) return functionName || '(anonymous)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  return m ? m[1] : `app (${basename(url)})`;
};

const label = ({ functionName, url, lineNumber }) => {
  const where = url
    ? ` ${url.includes('node_modules') ? url.replace(/.*node_modules\//, '') : basename(url)}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'}${where}`;
};

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  const self = new Map();
  let busy = 0;
  let total = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    elapsed += dt;
    if (elapsed < skipMicros) return;
    total += dt;
    let node = byId.get(id);
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') return;
    busy += dt;
    if (callers) {
      if (name !== callers) return;
      do node = parentOf.get(node.id);
      while (node && (!node.callFrame.url || node.callFrame.url.startsWith('node:')));
      if (!node) return;
    }
    const key = group ? packageOf(node.callFrame) : label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  process.stdout.write(
    `\n${basename(file)}: busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s` +
      `${callers ? `; self time of ${callers} by caller` : ''}\n\n| frame | share of busy time |\n| --- | ---: |\n`,
  );
  for (const [key, dt] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    process.stdout.write(
      `| \`${key.replaceAll('|', '\\|')}\` | ${((dt / busy) * 100).toFixed(1)}% |\n`,
    );
}
