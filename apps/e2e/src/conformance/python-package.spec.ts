import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from '../support/service-process';
import { PYTHON, requirePythonVenv } from './agent-workers';

/**
 * The Python package's own checks, in `npm test`: its pytest suite (units,
 * against the real Redis at 127.0.0.1:6379 under a key prefix of their own)
 * and mypy --strict over the package and its tests.
 */
describe('the admitone Python package', () => {
  const cwd = join(workspaceRoot, 'python');
  const run = (args: string[]) => {
    requirePythonVenv();
    // Plain text whatever the terminal (CI sets variables that turn colours on).
    const env = { ...process.env, NO_COLOR: '1', MYPY_FORCE_COLOR: '0', PY_COLORS: '0' };
    const result = spawnSync(PYTHON, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it('passes its pytest suite', () => {
    const result = run(['-m', 'pytest', '-q', '--color=no', '-p', 'no:cacheprovider', 'tests']);
    expect({ status: result.status, output: result.status === 0 ? '' : result.output }).toEqual({
      status: 0,
      output: '',
    });
    expect(result.output).toMatch(/\d+ passed/);
  }, 300_000);

  it('is clean under mypy --strict', () => {
    const result = run([
      '-m',
      'mypy',
      '--no-color-output',
      '--cache-dir',
      '/tmp/admitone-mypy-cache',
    ]);
    expect({ status: result.status, output: result.output.trim().split('\n').at(-1) }).toEqual({
      status: 0,
      output: expect.stringMatching(/^Success: no issues found/),
    });
  }, 300_000);
});
