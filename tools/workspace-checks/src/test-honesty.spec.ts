import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findDishonestTests } from './test-honesty';

/**
 * Keeps the suite honest: no spec file in the repository may skip or focus a
 * test, have an empty test body, or swallow an assertion or a failed wait.
 * The first block proves each rule fires, so the scan below cannot pass by
 * finding nothing.
 */
const root = join(__dirname, '../../..');

const rulesOf = (source: string) =>
  findDishonestTests('fixture.spec.ts', source).map((f) => f.rule);

describe('the test-honesty check', () => {
  it.each([
    ["it.skip('x', () => { expect(1).toBe(1); });", 'skipped-or-focused'],
    ["describe.only('x', () => undefined);", 'skipped-or-focused'],
    ["test.todo('x');", 'skipped-or-focused'],
    ["it.failing('x', () => { expect(1).toBe(2); });", 'skipped-or-focused'],
    ["xit('x', () => { expect(1).toBe(1); });", 'skipped-or-focused'],
    ["fdescribe('x', () => undefined);", 'skipped-or-focused'],
    ["it('x', () => {});", 'empty-test'],
    ["it('x', async () => {\n});", 'empty-test'],
    ["it.each([1])('x %s', () => {});", 'empty-test'],
    ["it('x', () => { try { expect(1).toBe(2); } catch { /* fine */ } });", 'swallowed-assertion'],
    [
      "it('x', async () => { const m = await next(ws, 5000).catch(() => undefined); use(m); });",
      'swallowed-wait',
    ],
    [
      "it('x', async () => { const m = await next(ws).catch(() => null); expect(m).toBeNull(); });",
      'swallowed-wait',
    ],
    [
      "it('x', async () => { await expect(p).rejects.toThrow(); await q().catch(() => {}); });",
      'swallowed-wait',
    ],
  ])('flags %s', (source, rule) => {
    expect(rulesOf(source)).toContain(rule);
  });

  it.each([
    "it('x', () => { expect(1).toBe(1); });",
    "it('x', async () => { stuck.catch(() => undefined); await expect(stuck).rejects.toThrow('gone'); });",
    'afterAll(async () => { await redis.quit().catch(() => undefined); });',
    "it('x', () => { try { expect(1).toBe(2); } catch (e) { cleanup(); throw e; } });",
    "it('x', () => { const text = 'it.skip( is just a string'; expect(text).toContain('skip'); });",
    "it('x', async () => { const v = await p.catch((e) => e); expect(v).toBeInstanceOf(Error); });",
  ])('lets %s pass', (source) => {
    expect(rulesOf(source)).toEqual([]);
  });
});

describe('every spec file in the repository', () => {
  const specs = execFileSync('git', ['ls-files', '*.spec.ts', '*.spec.mjs', '*.test.ts'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);

  it('is found', () => {
    expect(specs.length).toBeGreaterThan(50);
  });

  it('skips nothing, focuses nothing, has no empty test, and swallows no assertion or wait', () => {
    const findings = specs.flatMap((file) =>
      findDishonestTests(file, readFileSync(join(root, file), 'utf8')),
    );
    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule}: ${f.text}`)).toEqual([]);
  });
});

describe('every Jest project', () => {
  const configs = execFileSync('git', ['ls-files', '*jest.config.cts'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && f !== 'jest.config.ts');

  it('sets its own testTimeout, so a test that waits on Redis or a process fails with a reason', () => {
    expect(configs.length).toBeGreaterThan(5);
    const without = configs.filter(
      (file) => !/\btestTimeout:\s*\d[\d_]*/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(without).toEqual([]);
  });
});
