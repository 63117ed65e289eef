import { spawnSync } from 'node:child_process';
import { posix } from 'node:path';
import { parseDockerfile } from './dockerfile';
import { exists, readText, workspaceRoot } from './workspace';

/**
 * The release step that moves the accounts schema forward: the auth-service
 * image's users CLI, `migrate`. Every deployment (the Kubernetes init
 * container, the Cloud Run job, the compose one-shot service) must run this
 * exact command, in the auth-service image, before the new version serves.
 */
export const MIGRATE_ARGV = ['node', 'dist/apps/auth-service/users-cli.js', 'migrate'];

/**
 * What is wrong with `argv` as the migrate command of the auth-service image
 * (none: it runs a script the image holds, which the build produces, and the
 * script has a `migrate` command). Run from the image's WORKDIR, as CMD is.
 */
export function migrateCommandProblems(argv: string[] | undefined): string[] {
  if (!argv) return ['no command'];
  const problems: string[] = [];
  const [node, script, command] = argv;
  if (node !== 'node') problems.push(`runs ${node}, not node`);
  if (argv.length !== 3) problems.push(`has ${argv.length} words, not 3: ${argv.join(' ')}`);
  const runtime = parseDockerfile(readText('docker/auth-service.Dockerfile')).at(-1);
  const copied = (runtime?.instructions ?? [])
    .filter((i) => i.keyword === 'COPY')
    .map((i) => i.args.split(/\s+/).at(-1) ?? '');
  if (!script || !copied.some((dest) => script.startsWith(`${posix.normalize(dest)}/`)))
    problems.push(`${script} is not under a directory the runtime image copies (${copied})`);
  if (!script || !exists(script)) problems.push(`${script} is not produced by the build`);
  else {
    const help = spawnSync(process.execPath, [script, '--help'], {
      cwd: workspaceRoot,
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (help.status !== 0) problems.push(`${script} --help exits ${help.status}`);
    if (!new RegExp(`^\\s+${command}\\s`, 'm').test(help.stdout ?? ''))
      problems.push(`${script} has no ${command} command`);
  }
  return problems;
}
