/**
 * Builds the publishable @admitone/client into --outdir (dist/libs/client):
 * - index.mjs (ESM) and index.cjs (CommonJS), bundled by esbuild for the
 *   *browser* platform: the contract libs (@admitone/agent-events,
 *   @admitone/auth-contracts, not published on their own) are inlined, zod
 *   stays an external dependency, and `ws` is never imported (Node apps pass
 *   it as the WebSocket option). On the browser platform any import of a
 *   Node built-in fails the build, so the bundle cannot grow one unnoticed;
 *   bundle.spec.ts checks the output too.
 * - types/: declarations from tsc, with the contract libs' path aliases
 *   rewritten to relative paths so they resolve inside the package.
 * - package.json and README.md.
 * `--js-only` skips the declarations (the bundle test uses it).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = dirname(fileURLToPath(import.meta.url));
const workspaceRoot = resolve(projectRoot, '../..');

const args = process.argv.slice(2);
const outdirArg = args[args.indexOf('--outdir') + 1];
if (!args.includes('--outdir') || !outdirArg) {
  console.error('usage: node libs/client/build-package.mjs --outdir <dir> [--js-only]');
  process.exit(2);
}
const outdir = resolve(workspaceRoot, outdirArg);
const jsOnly = args.includes('--js-only');

const ALIASED_LIBS = {
  '@admitone/agent-events': 'libs/agent-events/src/index',
  '@admitone/auth-contracts': 'libs/auth-contracts/src/index',
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const common = {
  entryPoints: [join(projectRoot, 'src/index.ts')],
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  external: ['zod', 'ws'],
  tsconfig: join(projectRoot, 'tsconfig.lib.json'),
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: join(outdir, 'index.mjs') });
await build({ ...common, format: 'cjs', outfile: join(outdir, 'index.cjs') });

if (!jsOnly) {
  const typesDir = join(outdir, 'types');
  execFileSync(
    process.execPath,
    [
      join(workspaceRoot, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(projectRoot, 'tsconfig.lib.json'),
      '--emitDeclarationOnly',
      '--declaration',
      '--sourceMap',
      'false',
      '--outDir',
      typesDir,
    ],
    { stdio: 'inherit', cwd: workspaceRoot },
  );
  for (const file of walk(typesDir).filter((f) => f.endsWith('.d.ts'))) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(/(['"])(@admitone\/[a-z-]+)\1/g, (match, quote, name) => {
      const target = ALIASED_LIBS[name];
      if (!target) throw new Error(`${file}: unbundled import of ${name}`);
      let path = relative(dirname(file), join(typesDir, target)).replaceAll('\\', '/');
      if (!path.startsWith('.')) path = `./${path}`;
      return `${quote}${path}${quote}`;
    });
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
}

copyFileSync(join(projectRoot, 'package.json'), join(outdir, 'package.json'));
copyFileSync(join(projectRoot, 'README.md'), join(outdir, 'README.md'));

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
