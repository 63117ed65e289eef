import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The repository as the deploy checks see it: files read as text, and the
 * configuration model of the three deployables. The model comes from
 * tools/scripts/config-reference.mjs, which reads each config schema's
 * source as TEXT (these checks may not import app code: module boundaries),
 * the same extraction that generates docs/configuration.md.
 */
export const workspaceRoot = join(__dirname, '../../../..');

export const APPS = ['auth-service', 'ws-gateway', 'agent-worker'] as const;
export type AppName = (typeof APPS)[number];

export function readText(path: string): string {
  return readFileSync(join(workspaceRoot, path), 'utf8');
}

export function exists(path: string): boolean {
  return existsSync(join(workspaceRoot, path));
}

/** Every file under `dir` (workspace-relative), recursively. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(workspaceRoot, path));
    }
  };
  walk(join(workspaceRoot, dir));
  return out.sort();
}

export interface ConfigVariable {
  name: string;
  /** The schema's default; undefined when there is none. */
  default?: string | number;
  /** No default and not optional: the service does not start without it. */
  required: boolean;
  /** Messages of the schema's production refinements for this variable. */
  production: string[];
  description: string;
}

export interface ServiceConfig {
  name: AppName;
  file: string;
  schema: string;
  variables: ConfigVariable[];
}

let model: ServiceConfig[] | undefined;

/** The configuration model of every deployable, extracted from the schema sources. */
export function configModel(): ServiceConfig[] {
  if (model) return model;
  const run = spawnSync(process.execPath, ['tools/scripts/config-reference.mjs', '--json'], {
    cwd: workspaceRoot,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`config-reference.mjs --json failed:\n${run.stderr}`);
  model = JSON.parse(run.stdout) as ServiceConfig[];
  return model;
}

export function configOf(app: AppName): ServiceConfig {
  const found = configModel().find((s) => s.name === app);
  if (!found) throw new Error(`no configuration schema for ${app}`);
  return found;
}

export function variableNames(app: AppName): string[] {
  return configOf(app).variables.map((v) => v.name);
}

export function schemaDefault(app: AppName, name: string): string | number | undefined {
  return configOf(app).variables.find((v) => v.name === name)?.default;
}

/** The port an app listens on when PORT is unset: what images EXPOSE and manifests target. */
export function defaultPort(app: AppName): number {
  const port = Number(schemaDefault(app, 'PORT'));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${app}: no default PORT`);
  return port;
}

/**
 * Settings production cannot do without, per app: what the brief of issue 7
 * and the schemas' production refinements require. Alternatives are listed
 * as `A|B` (either satisfies).
 */
export const REQUIRED_IN_PRODUCTION: Record<AppName, string[]> = {
  'auth-service': [
    'NODE_ENV',
    'REDIS_URL',
    'DATABASE_URL',
    'EXCHANGE_CLIENT_KEYS',
    'JWT_SIGNING_KEYS|JWT_SIGNING_KEYS_FILE',
    'ALLOWED_ORIGINS',
  ],
  'ws-gateway': [
    'NODE_ENV',
    'REDIS_URL',
    'EXCHANGE_CLIENT_KEY',
    'AUTH_SERVICE_URL',
    'ALLOWED_ORIGINS',
  ],
  'agent-worker': ['NODE_ENV', 'REDIS_URL'],
};

/**
 * Names that hold credentials: never a literal value in an image, a
 * ConfigMap or a manifest. Durations and file paths (ACCESS_TOKEN_TTL_SECONDS,
 * JWT_SIGNING_KEYS_FILE) only mention the word.
 */
export function isSecretName(name: string): boolean {
  return /KEY|SECRET|PASSWORD|TOKEN/.test(name) && !/_(FILE|SECONDS|MS|TTL)$/.test(name);
}

/**
 * Connection URLs that carry a password (redis://:pw@host, postgres://user:pw@host):
 * held to the same rule as secret names, from a Secret or the environment only.
 */
export function holdsCredential(name: string): boolean {
  return isSecretName(name) || name === 'REDIS_URL' || name === 'DATABASE_URL';
}

/** Names documented as Secrets in the runbook (backticked, in its "Secrets" section). */
export function documentedSecrets(): Set<string> {
  const runbook = readText('docs/runbook.md');
  const start = runbook.search(/^## Secrets/m);
  if (start === -1) throw new Error('docs/runbook.md has no "## Secrets" section');
  const next = runbook.slice(start + 1).search(/^## /m);
  const section = runbook.slice(start, next === -1 ? undefined : start + 1 + next);
  return new Set([...section.matchAll(/`([a-z0-9][a-z0-9.-]*)`/g)].map((m) => m[1]));
}
