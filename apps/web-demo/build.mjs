// Builds the demo: the browser app (plain TypeScript + @admitone/client,
// bundled by esbuild for browsers: no Node-only import can slip in) and the
// small Node server that serves it with its runtime configuration.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const out = join(root, 'dist/apps/web-demo');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'public'), { recursive: true });

await build({
  entryPoints: [join(here, 'src/app/main.ts')],
  outfile: join(out, 'public/app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  tsconfig: join(here, 'tsconfig.app.json'),
  logLevel: 'warning',
});
await build({
  entryPoints: [join(here, 'src/server/main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: ['node20'],
  packages: 'external',
  tsconfig: join(here, 'tsconfig.app.json'),
  logLevel: 'warning',
});
cpSync(join(here, 'src/public'), join(out, 'public'), { recursive: true });
