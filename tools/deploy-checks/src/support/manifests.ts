import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { workspaceRoot } from './workspace';

/** A Kubernetes-style object, loosely typed: the checks read it field by field. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  [field: string]: unknown;
}

/** Every document of a YAML stream; a syntax error or a duplicate key throws. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  return parseAllDocuments(text, { merge: true, uniqueKeys: true })
    .map((doc) => {
      const problems = [...doc.errors, ...doc.warnings];
      if (problems.length)
        throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

/**
 * `kubectl kustomize <dir>`: the real kustomize (built into kubectl), so
 * generators, patches, name suffixes and image rewrites are what a cluster
 * would get. `components` are added through a temporary kustomization.
 */
export function kustomize(dir: string, components: string[] = []): K8sObject[] {
  let target = join(workspaceRoot, dir);
  let temp: string | undefined;
  if (components.length) {
    temp = mkdtempSync(join(tmpdir(), 'deploy-checks-kustomize-'));
    // kustomize accepts only relative paths to bases and components.
    const rel = (p: string) => relative(temp as string, join(workspaceRoot, p));
    writeFileSync(
      join(temp, 'kustomization.yaml'),
      [
        'resources:',
        `  - ${rel(dir)}`,
        'components:',
        ...components.map((c) => `  - ${rel(c)}`),
        '',
      ].join('\n'),
    );
    target = temp;
  }
  try {
    const run = spawnSync('kubectl', ['kustomize', target], { encoding: 'utf8' });
    if (run.error)
      throw new Error(
        `kubectl is needed to build the kustomizations (kubectl kustomize): ${run.error.message}`,
      );
    if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${run.stderr}`);
    return parseYamlDocuments(run.stdout, `kustomize ${dir}`) as K8sObject[];
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): (K8sObject & T)[] {
  return objects.filter((o) => o.kind === kind) as (K8sObject & T)[];
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

// ---------------------------------------------------------------- shapes

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, unknown>;
}

export interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type: string };
  };
}

export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export type Workload = K8sObject & {
  spec: { replicas?: number; selector: LabelSelector; template: PodTemplate };
};

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector matches everything. */
export function selects(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(labels[e.key])
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(labels[e.key])
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : (() => {
                  throw new Error(`unknown selector operator ${e.operator}`);
                })();
    if (!ok) return false;
  }
  return true;
}

/** The environment a container gets: envFrom ConfigMaps first, then env (which wins). */
export function effectiveEnv(
  container: Container,
  objects: K8sObject[],
): Map<string, { value?: string; from: string; ref?: EnvVar['valueFrom'] }> {
  const env = new Map<string, { value?: string; from: string; ref?: EnvVar['valueFrom'] }>();
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) throw new Error(`${container.name}: envFrom secretRef hides names`);
    const name = source.configMapRef?.name;
    if (!name) continue;
    const map = named(objects, 'ConfigMap', name) as K8sObject & {
      data?: Record<string, string>;
    };
    for (const [k, v] of Object.entries(map.data ?? {}))
      env.set(k, { value: v, from: `ConfigMap ${name}` });
  }
  for (const e of container.env ?? [])
    env.set(e.name, {
      value: e.value,
      from: e.valueFrom ? Object.keys(e.valueFrom)[0] : 'value',
      ref: e.valueFrom,
    });
  return env;
}

/** Seconds a preStop hook sleeps (exec `sleep N` or the native sleep action); 0 without one. */
export function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds;
  const command = preStop.exec?.command ?? [];
  if (command[0] === 'sleep' && command.length === 2) return Number(command[1]);
  throw new Error(`${container.name}: preStop is not a plain sleep: ${JSON.stringify(preStop)}`);
}

/** `registry/name:tag` with a tag that is not `latest` (or a digest). */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.split('/').at(-1) ?? '';
  const tag = lastSegment.includes(':') ? lastSegment.split(':').at(-1) : undefined;
  return !!tag && tag !== 'latest';
}
