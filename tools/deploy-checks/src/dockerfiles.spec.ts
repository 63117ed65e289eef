import { envPairs, execForm, healthcheck, parseDockerfile, Stage } from './support/dockerfile';
import { isPinnedImage } from './support/manifests';
import { APPS, defaultPort, exists, isSecretName, readText } from './support/workspace';

/**
 * No Docker engine runs here, so the images are checked as text: each
 * Dockerfile is parsed into stages and held to what the runbook promises
 * (multi-stage, pinned bases, non-root, production mode, the app's port, a
 * health check, `node .../main.js`). image-runtime.spec.ts then runs the
 * Dockerfiles' own CMD and HEALTHCHECK against the built apps.
 */
describe.each(APPS)('docker/%s.Dockerfile', (app) => {
  const path = `docker/${app}.Dockerfile`;
  const stages: Stage[] = parseDockerfile(readText(path));
  const final = stages.at(-1) as Stage;
  const all = (stage: Stage, keyword: string) =>
    stage.instructions.filter((i) => i.keyword === keyword);
  const one = (stage: Stage, keyword: string) => {
    const found = all(stage, keyword);
    if (found.length !== 1)
      throw new Error(`${path}: expected one ${keyword}, found ${found.length}`);
    return found[0];
  };

  it('builds in a stage named build and runs from a final stage named runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(stages[0].image).toBe('node:20.19-bookworm-slim');
    expect(final.image).toMatch(/^node:20(\.\d+)*-[a-z]+-slim$|^node:20(\.\d+)*-slim$/);
  });

  it('pins every base image: no untagged FROM and no :latest', () => {
    for (const stage of stages) {
      expect(stage.image).not.toMatch(/\$/); // no ARG-driven base that could float
      expect(isPinnedImage(stage.image)).toBe(true);
    }
  });

  it('builds the app with npm ci and nx, copying in only what the build reads', () => {
    const build = stages[0];
    const runs = all(build, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => new RegExp(`\\bnpx nx build ${app}\\b`).test(r))).toBe(true);
    const copies = all(build, 'COPY').map((c) => c.args.split(/\s+/));
    for (const [, ...sources] of copies.filter((c) => c[0].startsWith('--') === false))
      for (const source of sources.slice(0, -1))
        expect({ source, exists: exists(source) }).toEqual({ source, exists: true });
    // The lockfile is copied (and npm ci run) before the sources, so the install layer caches.
    const lockAt = build.instructions.findIndex((i) => /package-lock\.json/.test(i.args));
    const sourcesAt = build.instructions.findIndex((i) => i.args.startsWith('libs '));
    expect(lockAt).toBeGreaterThanOrEqual(0);
    expect(lockAt).toBeLessThan(sourcesAt);
  });

  it('installs only production dependencies in the runtime stage, from the generated package.json and lockfile', () => {
    const copies = all(final, 'COPY').map((c) => c.args);
    expect(copies).toContain(
      `--from=build /workspace/dist/apps/${app}/package.json /workspace/dist/apps/${app}/package-lock.json ./`,
    );
    expect(copies).toContain(`--from=build /workspace/dist/apps/${app} dist/apps/${app}`);
    const install = all(final, 'RUN').map((r) => r.args);
    expect(install.some((r) => /\bnpm ci --omit=dev\b/.test(r))).toBe(true);
    expect(install.join('\n')).not.toMatch(/\bnx\b|webpack|npm install(?! --omit=dev)/);
  });

  it('runs in production mode as a non-root user', () => {
    const env = new Map(all(final, 'ENV').flatMap((e) => envPairs(e.args)));
    expect(env.get('NODE_ENV')).toBe('production');
    const user = all(final, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // USER comes after the last RUN/COPY that needs root, and before CMD.
    const userAt = final.instructions.findIndex((i) => i.keyword === 'USER');
    const cmdAt = final.instructions.findIndex((i) => i.keyword === 'CMD');
    expect(userAt).toBeLessThan(cmdAt);
  });

  it('bakes in no secret: no KEY/SECRET/PASSWORD/TOKEN variable with a value', () => {
    for (const stage of stages)
      for (const i of [...all(stage, 'ENV'), ...all(stage, 'ARG')]) {
        const pairs =
          i.keyword === 'ENV'
            ? envPairs(i.args)
            : ([i.args.split('=')] as [string, string | undefined][]).map(
                ([k, v]) => [k, v ?? ''] as [string, string],
              );
        for (const [name, value] of pairs)
          expect({ name, value: isSecretName(name) ? value : '' }).toEqual({ name, value: '' });
      }
  });

  it(`exposes the app's default port`, () => {
    expect(one(final, 'EXPOSE').args).toBe(String(defaultPort(app)));
  });

  it('declares a HEALTHCHECK that asks /health/live with node (no curl in slim images)', () => {
    const { options, command } = healthcheck(one(final, 'HEALTHCHECK').args);
    const argv = execForm(command);
    expect(argv?.[0]).toBe('node');
    expect(argv?.join(' ')).toContain('/health/live');
    expect(argv?.join(' ')).toContain(`process.env.PORT||${defaultPort(app)}`);
    expect(Object.keys(options).sort()).toEqual(['interval', 'retries', 'start-period', 'timeout']);
  });

  it('starts with CMD ["node", "dist/apps/<app>/main.js"] in exec form', () => {
    expect(all(final, 'ENTRYPOINT')).toEqual([]);
    expect(execForm(one(final, 'CMD').args)).toEqual(['node', `dist/apps/${app}/main.js`]);
    expect(one(final, 'WORKDIR').args).toBe('/app');
  });
});

describe('.dockerignore', () => {
  const ignored = readText('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps dependencies, build output, caches, git and local state out of the context', () => {
    for (const entry of ['**/node_modules', 'dist', '.nx', 'coverage', '.git', 'tmp'])
      expect(ignored).toContain(entry);
  });

  it('keeps local secrets out of the context', () => {
    for (const entry of ['.env', '.env.*', '**/*.pem', '**/*.key'])
      expect(ignored).toContain(entry);
  });

  it('does not ignore anything a Dockerfile copies', () => {
    const copied = APPS.flatMap((app) =>
      parseDockerfile(readText(`docker/${app}.Dockerfile`))[0]
        .instructions.filter((i) => i.keyword === 'COPY')
        .flatMap((i) => i.args.split(/\s+/).slice(0, -1)),
    );
    for (const source of copied)
      for (const entry of ignored) {
        const root = entry.replace(/^\*\*\//, '');
        expect({ source, ignoredBy: source === root || source.startsWith(`${root}/`) }).toEqual({
          source,
          ignoredBy: false,
        });
      }
  });
});
