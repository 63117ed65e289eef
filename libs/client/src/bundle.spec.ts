import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The published bundles must load in a browser: no `ws`, no Node built-in
 * (`node:*`, `crypto`, `events`, ...). The bundle is built with the real
 * build script (JS only) into a scratch folder inside the workspace, so its
 * one external import, zod, resolves when the bundle is loaded in Node.
 * Here it is checked and loaded in Node; apps/e2e/src/browser/
 * client-bundle.spec.ts loads the same build in real Chromium.
 */
const workspaceRoot = join(__dirname, '../../..');
const outdir = join(workspaceRoot, 'tmp', `client-bundle-spec-${process.pid}`);

function importSpecifiers(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.add(m[1]);
  return [...found].sort();
}

describe('the browser bundle', () => {
  let esm: string;
  let cjs: string;

  beforeAll(() => {
    execFileSync(
      process.execPath,
      [join(workspaceRoot, 'libs/client/build-package.mjs'), '--outdir', outdir, '--js-only'],
      { cwd: workspaceRoot, stdio: 'pipe' },
    );
    esm = readFileSync(join(outdir, 'index.mjs'), 'utf8');
    cjs = readFileSync(join(outdir, 'index.cjs'), 'utf8');
  }, 60_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('imports nothing but zod: no ws, no node: or other built-in modules', () => {
    expect(importSpecifiers(esm)).toEqual(['zod']);
    expect(importSpecifiers(cjs)).toEqual(['zod']);
    for (const code of [esm, cjs]) {
      expect(code).not.toMatch(/require\(\s*["']ws["']\s*\)/);
      expect(code).not.toMatch(/from\s*["']ws["']/);
      expect(code).not.toMatch(/["']node:[a-z_/]+["']/);
      expect(code).not.toMatch(/\bprocess\.(env|nextTick|versions)\b/);
      expect(code).not.toMatch(/\bBuffer\.(from|alloc|concat)\b/);
    }
  });

  it('inlines the contract libs instead of importing them', () => {
    expect(esm).not.toContain('@admitone/');
    expect(esm).toContain('connection_established');
    expect(esm).toContain('/websocket/ticket');
  });

  it('loads as ESM and as CommonJS and exports the client', () => {
    const check = (code: string, ...args: string[]) =>
      execFileSync(process.execPath, [...args, '-e', code], {
        cwd: outdir,
        encoding: 'utf8',
      }).trim();
    expect(
      check(
        `import('./index.mjs').then((m) => console.log(typeof m.AgentClient, typeof m.backoffDelay))`,
      ),
    ).toBe('function function');
    expect(
      check(
        `const m = require('./index.cjs'); console.log(typeof m.AgentClient, typeof m.decideOnClose)`,
      ),
    ).toBe('function function');
  });
});
