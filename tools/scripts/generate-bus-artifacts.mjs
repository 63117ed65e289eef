#!/usr/bin/env node
/**
 * Writes what is generated from the bus contract (libs/agent-events): the Lua
 * scripts as a TypeScript module (bundled into ws-gateway and agent-worker),
 * and the Python package's copies of the scripts, the JSON Schemas (from the
 * zod schemas) and the bus constants. libs/agent-events/src/generate/
 * bus-artifacts.spec.ts fails when any of them is stale.
 *
 *   node tools/scripts/generate-bus-artifacts.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
require('ts-node').register({
  transpileOnly: true,
  project: join(root, 'libs/agent-events/tsconfig.lib.json'),
  compilerOptions: { module: 'commonjs' },
});
const { busArtifacts } = require(join(root, 'libs/agent-events/src/generate/bus-artifacts.ts'));
for (const [path, content] of busArtifacts()) {
  const absolute = join(root, path);
  mkdirSync(dirname(absolute), { recursive: true });
  writeFileSync(absolute, content);
  process.stdout.write(`wrote ${path}\n`);
}
