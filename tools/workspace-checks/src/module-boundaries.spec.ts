import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Proves the team boundary is enforced by lint, not by good intentions:
 * the services may meet only in the shared contract libs.
 */
const root = join(__dirname, '../../..');

interface LintMessage {
  ruleId: string | null;
  message: string;
}

/** Lints `source` as if it were `fileInProject`, with the workspace's real ESLint CLI and config. */
async function boundaryErrors(fileInProject: string, source: string): Promise<string[]> {
  const run = spawnSync(
    join(root, 'node_modules/.bin/eslint'),
    ['--stdin', '--stdin-filename', fileInProject, '--format', 'json'],
    { cwd: root, input: source, encoding: 'utf8' },
  );
  if (!run.stdout.trim().startsWith('[')) throw new Error(`eslint did not report: ${run.stderr}`);
  const [result] = JSON.parse(run.stdout) as { messages: LintMessage[] }[];
  return result.messages
    .filter((m) => m.ruleId === '@nx/enforce-module-boundaries')
    .map((m) => m.message);
}

describe('module boundaries', () => {
  jest.setTimeout(60_000);

  it('fail the lint when the gateway imports auth-service code', async () => {
    const errors = await boundaryErrors(
      'apps/ws-gateway/src/boundary-fixture.ts',
      "import { AppModule } from '../../auth-service/src/app.module';\nexport const m = AppModule;\n",
    );
    expect(errors.join('\n')).toMatch(/relative or absolute path|Imports of apps are forbidden/);
  });

  it('fail the lint when auth-service imports gateway code', async () => {
    const errors = await boundaryErrors(
      'apps/auth-service/src/boundary-fixture.ts',
      "import { AppModule } from '../../ws-gateway/src/app.module';\nexport const m = AppModule;\n",
    );
    expect(errors.length).toBeGreaterThan(0);
  });

  it('fail the lint when a contract lib depends on test tooling', async () => {
    const errors = await boundaryErrors(
      'libs/agent-events/src/lib/boundary-fixture.ts',
      "import { connectTestRedis } from '@admitone/testing';\nexport const c = connectTestRedis;\n",
    );
    expect(errors.join('\n')).toMatch(
      /tagged with "type:lib" can only depend on libs tagged with "type:lib"/,
    );
  });

  it('let either service import the shared contract libs', async () => {
    const source =
      "import { SUBPROTOCOL } from '@admitone/agent-events';\nimport { ERROR_CODES } from '@admitone/auth-contracts';\nexport const x = [SUBPROTOCOL, ERROR_CODES];\n";
    expect(await boundaryErrors('apps/ws-gateway/src/boundary-fixture.ts', source)).toEqual([]);
    expect(await boundaryErrors('apps/auth-service/src/boundary-fixture.ts', source)).toEqual([]);
  });
});
