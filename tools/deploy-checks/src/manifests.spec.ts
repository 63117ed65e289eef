import { dirname, join, posix } from 'node:path';
import { containerProblems, schemaProblems, volumeProblems } from './support/kubernetes-schema';
import {
  Container,
  effectiveEnv,
  isPinnedImage,
  K8sObject,
  kustomize,
  LabelSelector,
  named,
  ofKind,
  parseYamlDocuments,
  PodSpec,
  preStopSeconds,
  Probe,
  selects,
  Volume,
  Workload,
} from './support/manifests';
import { MIGRATE_ARGV, migrateCommandProblems } from './support/migrate';
import {
  APPS,
  AppName,
  configOf,
  defaultPort,
  documentedSecrets,
  exists,
  filesUnder,
  holdsCredential,
  readText,
  REQUIRED_IN_PRODUCTION,
  schemaDefault,
  variableNames,
} from './support/workspace';

/**
 * The Kubernetes and Cloud Run manifests, checked without a cluster: every
 * kustomization is built with the real kustomize (`kubectl kustomize`),
 * every object is validated against the Kubernetes OpenAPI schema
 * (kubernetes-models), and then cross-checked against the code: ports and
 * variable names against the config schemas, selectors against labels,
 * autoscalers and budgets against their targets, the gateway's grace
 * period against its drain, secrets against the runbook.
 */
const OVERLAYS = ['dev', 'prod'] as const;
const builds: Record<string, K8sObject[]> = {
  base: kustomize('k8s/base'),
  dev: kustomize('k8s/overlays/dev'),
  prod: kustomize('k8s/overlays/prod'),
  'prod + metrics-scrape': kustomize('k8s/overlays/prod', ['k8s/components/metrics-scrape']),
};
const BUILDS = Object.keys(builds);

/**
 * The ports each app keeps off its public one (issue 10 item 7): the
 * variable that moves routes there, by container port name. The worker's
 * one port serves only health and metrics and is never exposed publicly.
 */
const PRIVATE_PORTS: Record<AppName, Record<string, string>> = {
  'auth-service': { internal: 'INTERNAL_PORT', metrics: 'METRICS_PORT' },
  'ws-gateway': { metrics: 'METRICS_PORT' },
  'agent-worker': {},
};
const INGRESS_CONTROLLER = `namespace ${JSON.stringify({ 'kubernetes.io/metadata.name': 'ingress-nginx' })} pods ${JSON.stringify({ 'app.kubernetes.io/name': 'ingress-nginx' })}`;
const MONITORING = `namespace ${JSON.stringify({ 'kubernetes.io/metadata.name': 'monitoring' })} pods ${JSON.stringify({ 'app.kubernetes.io/name': 'prometheus' })}`;

const appContainer = (objects: K8sObject[], app: AppName): Container => {
  const deployment = named(objects, 'Deployment', app) as Workload;
  const containers = deployment.spec.template.spec.containers;
  expect(containers.map((c) => c.name)).toEqual([app]);
  return containers[0];
};
/** Every container of a pod, init containers first. */
const podContainers = (pod: PodSpec): Container[] => [
  ...(pod.initContainers ?? []),
  ...pod.containers,
];
const workloads = (objects: K8sObject[]) =>
  [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')] as Workload[];
const podsSelectedBy = (objects: K8sObject[], selector: LabelSelector) =>
  workloads(objects).filter((w) => selects(selector, w.spec.template.metadata.labels));
const secretsOf = (objects: K8sObject[]) => {
  const refs: string[] = [];
  for (const w of workloads(objects)) {
    for (const c of podContainers(w.spec.template.spec))
      for (const e of c.env ?? [])
        if (e.valueFrom?.secretKeyRef)
          refs.push(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    for (const v of w.spec.template.spec.volumes ?? [])
      if (v.secret) refs.push(v.secret.secretName, ...(v.secret.items ?? []).map((i) => i.key));
  }
  for (const ingress of ofKind(objects, 'Ingress'))
    for (const tls of (ingress['spec'] as { tls?: { secretName: string }[] }).tls ?? [])
      refs.push(tls.secretName);
  return [...new Set(refs)];
};

describe('k8s/ sources', () => {
  const yamlFiles = filesUnder('k8s').filter((f) => /\.ya?ml$/.test(f));

  it('parse as YAML without errors or duplicate keys', () => {
    expect(yamlFiles.length).toBeGreaterThan(10);
    for (const file of yamlFiles)
      expect(() => parseYamlDocuments(readText(file), file)).not.toThrow();
  });

  it('reference only files and directories that exist from every kustomization', () => {
    for (const file of yamlFiles.filter((f) => f.endsWith('kustomization.yaml'))) {
      const [k] = parseYamlDocuments(readText(file), file) as {
        resources?: string[];
        components?: string[];
        patches?: { path?: string }[];
      }[];
      const paths = [
        ...(k.resources ?? []),
        ...(k.components ?? []),
        ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
      ];
      for (const path of paths) {
        const target = posix.normalize(join(dirname(file), path));
        expect({ file, path, exists: exists(target) }).toEqual({ file, path, exists: true });
      }
    }
  });

  it('build with kustomize into the same set of objects for base and every overlay', () => {
    const ids = (objects: K8sObject[]) =>
      objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    for (const overlay of OVERLAYS)
      expect(ids(builds[overlay]).filter((id) => !id.startsWith('Namespace/'))).toEqual(
        ids(builds['base']),
      );
  });
});

describe.each(BUILDS)('kustomize build of %s', (build) => {
  const objects = builds[build];

  it('validates every object against the Kubernetes OpenAPI schema', () => {
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('uses the stable API versions: apps/v1, autoscaling/v2, policy/v1, networking.k8s.io/v1', () => {
    const versions = new Map(objects.map((o) => [o.kind, o.apiVersion]));
    expect(versions.get('HorizontalPodAutoscaler')).toBe('autoscaling/v2');
    expect(versions.get('PodDisruptionBudget')).toBe('policy/v1');
    expect(versions.get('NetworkPolicy')).toBe('networking.k8s.io/v1');
    expect(versions.get('Ingress')).toBe('networking.k8s.io/v1');
    expect(versions.get('Deployment')).toBe('apps/v1');
  });

  it('pins every image (a tag that is not latest, or a digest)', () => {
    for (const w of workloads(objects))
      for (const c of podContainers(w.spec.template.spec))
        expect({ image: c.image, pinned: isPinnedImage(c.image) }).toEqual({
          image: c.image,
          pinned: true,
        });
  });

  it('runs every pod under the restricted Pod Security Standard', () => {
    for (const w of workloads(objects)) {
      const pod: PodSpec = w.spec.template.spec;
      const who = `${w.kind} ${w.metadata.name}`;
      expect({ who, runAsNonRoot: pod.securityContext?.runAsNonRoot }).toEqual({
        who,
        runAsNonRoot: true,
      });
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of podContainers(pod)) {
        expect({ who, securityContext: c.securityContext }).toEqual({
          who,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
        });
        expect(c.resources?.requests).toEqual({
          cpu: expect.any(String),
          memory: expect.any(String),
        });
        expect(c.resources?.limits).toEqual({
          cpu: expect.any(String),
          memory: expect.any(String),
        });
      }
    }
  });

  it('selects pods with every Service, and targets a port those pods declare', () => {
    for (const service of ofKind(objects, 'Service')) {
      const spec = service['spec'] as {
        selector: Record<string, string>;
        ports: { port: number; targetPort: string | number }[];
      };
      const pods = podsSelectedBy(objects, { matchLabels: spec.selector });
      expect({ service: service.metadata.name, pods: pods.length }).toEqual({
        service: service.metadata.name,
        pods: 1,
      });
      const declared = pods[0].spec.template.spec.containers.flatMap((c) => c.ports ?? []);
      for (const port of spec.ports)
        expect(
          declared.some((d) => d.name === port.targetPort || d.containerPort === port.targetPort),
        ).toBe(true);
    }
  });

  it('selects real pods with every NetworkPolicy, and names real pods as peers', () => {
    for (const policy of ofKind(objects, 'NetworkPolicy')) {
      const spec = policy['spec'] as {
        podSelector: LabelSelector;
        ingress?: { from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[] }[];
      };
      expect(podsSelectedBy(objects, spec.podSelector).length).toBeGreaterThan(0);
      for (const rule of spec.ingress ?? [])
        for (const peer of rule.from ?? [])
          if (peer.podSelector && !peer.namespaceSelector)
            expect({
              policy: policy.metadata.name,
              peers: podsSelectedBy(objects, peer.podSelector).length > 0,
            }).toEqual({ policy: policy.metadata.name, peers: true });
    }
  });

  it('gives each app a HorizontalPodAutoscaler and a PodDisruptionBudget that target it', () => {
    for (const app of APPS) {
      const deployment = named(objects, 'Deployment', app) as Workload;
      // The autoscaler owns the replica count; a replicas field would fight it on every apply.
      expect(deployment.spec.replicas).toBeUndefined();
      const hpas = ofKind<{
        spec: { scaleTargetRef: Record<string, string> } & Record<string, number>;
      }>(objects, 'HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef['name'] === app);
      expect(hpas).toHaveLength(1);
      expect(hpas[0].spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: app,
      });
      expect(hpas[0].spec['minReplicas']).toBeLessThanOrEqual(hpas[0].spec['maxReplicas']);
      const pdbs = ofKind<{ spec: { selector: LabelSelector } }>(
        objects,
        'PodDisruptionBudget',
      ).filter((p) => podsSelectedBy(objects, p.spec.selector).includes(deployment));
      expect(pdbs).toHaveLength(1);
      expect(podsSelectedBy(objects, pdbs[0].spec.selector)).toEqual([deployment]);
    }
  });

  describe.each(APPS)('%s', (app) => {
    const container = () => appContainer(objects, app);
    const env = () => effectiveEnv(container(), objects);

    it(`listens on the app's default port, named http, and on each private port its config sets`, () => {
      const e = env();
      const side = Object.entries(PRIVATE_PORTS[app]);
      for (const [, variable] of side) expect(variableNames(app)).toContain(variable);
      expect(container().ports).toEqual([
        { name: 'http', containerPort: defaultPort(app), protocol: 'TCP' },
        ...side.map(([name, variable]) => ({
          name,
          containerPort: Number(e.get(variable)?.value),
          protocol: 'TCP',
        })),
      ]);
      expect(Number(e.get('PORT')?.value ?? defaultPort(app))).toBe(defaultPort(app));
    });

    it('probes /health/live for startup and liveness, /health/ready for readiness', () => {
      const c = container();
      const http = (p?: Probe) => p?.httpGet;
      expect(http(c.startupProbe)).toEqual({ path: '/health/live', port: 'http' });
      expect(http(c.livenessProbe)).toEqual({ path: '/health/live', port: 'http' });
      expect(http(c.readinessProbe)).toEqual({ path: '/health/ready', port: 'http' });
    });

    it('sets only variables its config schema knows', () => {
      const known = variableNames(app);
      for (const name of env().keys())
        expect({ name, known: known.includes(name) }).toEqual({ name, known: true });
    });

    it('takes secrets from Secrets, never from a literal or a ConfigMap', () => {
      for (const [name, source] of env())
        if (holdsCredential(name))
          expect({ name, from: source.from }).toEqual({ name, from: 'secretKeyRef' });
    });
  });

  it('names a JWT signing keys file for auth-service only, inside a mounted Secret', () => {
    const naming = APPS.filter((app) =>
      effectiveEnv(appContainer(objects, app), objects).has('JWT_SIGNING_KEYS_FILE'),
    );
    expect(naming).toEqual(['auth-service']);
    const c = appContainer(objects, 'auth-service');
    const path = effectiveEnv(c, objects).get('JWT_SIGNING_KEYS_FILE')?.value ?? '';
    const pod = (named(objects, 'Deployment', 'auth-service') as Workload).spec.template.spec;
    const mount = (c.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes?.find((v: Volume) => v.name === mount?.name);
    expect(mount?.readOnly).toBe(true);
    expect(volume?.secret?.items?.map((i) => i.path)).toContain(
      path.slice((mount?.mountPath.length ?? 0) + 1),
    );
  });

  it('migrates the accounts database before auth-service serves: an init container running the image migrate command', () => {
    const deployment = named(objects, 'Deployment', 'auth-service') as Workload;
    const pod = deployment.spec.template.spec;
    const app = appContainer(objects, 'auth-service');
    // Only auth-service owns a database; the other pods start without a step before them.
    for (const other of APPS.filter((a) => a !== 'auth-service'))
      expect({
        other,
        init: (named(objects, 'Deployment', other) as Workload).spec.template.spec.initContainers,
      }).toEqual({ other, init: undefined });
    expect(pod.initContainers?.map((c) => c.name)).toEqual(['migrate']);
    const migrate = (pod.initContainers ?? [])[0];
    expect(migrate.image).toBe(app.image);
    expect(migrate.command).toEqual(MIGRATE_ARGV);
    expect(migrate.args).toBeUndefined();
    expect(migrateCommandProblems(migrate.command)).toEqual([]);
    // The CLI validates the service's configuration: the same names, from the same places.
    const appEnv = effectiveEnv(app, objects);
    const migrateEnv = effectiveEnv(migrate, objects);
    const known = variableNames('auth-service');
    for (const [name, source] of migrateEnv) {
      expect({ name, known: known.includes(name) }).toEqual({ name, known: true });
      if (holdsCredential(name))
        expect({ name, from: source.from }).toEqual({ name, from: 'secretKeyRef' });
      expect({ name, source }).toEqual({ name, source: appEnv.get(name) });
    }
    for (const need of REQUIRED_IN_PRODUCTION['auth-service'].filter((n) => n !== 'NODE_ENV'))
      expect({ need, set: need.split('|').some((n) => migrateEnv.has(n)) }).toEqual({
        need,
        set: need.split('|').some((n) => appEnv.has(n)),
      });
    expect(migrateEnv.has('DATABASE_URL')).toBe(true);
    expect(appEnv.get('DATABASE_URL')?.ref?.secretKeyRef).toEqual({
      name: 'admitone-database',
      key: 'url',
    });
    // Files it is told to read are mounted for it too.
    const keysFile = migrateEnv.get('JWT_SIGNING_KEYS_FILE')?.value ?? 'unset';
    expect(keysFile).toBe(appEnv.get('JWT_SIGNING_KEYS_FILE')?.value);
    expect(
      (migrate.volumeMounts ?? []).find((m) => keysFile.startsWith(`${m.mountPath}/`)),
    ).toEqual((app.volumeMounts ?? []).find((m) => keysFile.startsWith(`${m.mountPath}/`)));
    expect(migrate.volumeMounts?.map((m) => m.mountPath)).toContain('/etc/admitone/jwt');
    // The app does not migrate by itself: the init container is the one step that does.
    expect(appEnv.get('DATABASE_MIGRATE_ON_START')?.value ?? 'unset').not.toBe('true');
  });

  it('documents every Secret and key it references in the runbook', () => {
    const documented = documentedSecrets();
    for (const name of secretsOf(objects))
      expect({ name, documented: documented.has(name) }).toEqual({ name, documented: true });
  });

  it('lets the gateway drain: terminationGracePeriodSeconds > preStop + DRAIN_SECONDS + 2', () => {
    const deployment = named(objects, 'Deployment', 'ws-gateway') as Workload;
    const pod = deployment.spec.template.spec;
    const c = appContainer(objects, 'ws-gateway');
    const drain = Number(
      effectiveEnv(c, objects).get('DRAIN_SECONDS')?.value ??
        schemaDefault('ws-gateway', 'DRAIN_SECONDS'),
    );
    const preStop = preStopSeconds(c);
    expect(preStop).toBeGreaterThanOrEqual(3); // endpoints are removed before draining starts
    expect(pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(preStop + drain + 2);
  });

  it('lets only the gateway (internal port) and the ingress controller (8081) reach auth-service', () => {
    const policies = ofKind<{
      spec: {
        podSelector: LabelSelector;
        ingress?: {
          from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[];
          ports?: { port: number }[];
        }[];
      };
    }>(objects, 'NetworkPolicy');
    const auth = named(objects, 'Deployment', 'auth-service') as Workload;
    const applying = policies.filter((p) =>
      selects(p.spec.podSelector, auth.spec.template.metadata.labels),
    );
    // The namespace denies by default; these are the only openings.
    expect(
      policies.some((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress),
    ).toBe(true);
    const peers = applying
      .flatMap((p) => p.spec.ingress ?? [])
      .flatMap((rule) =>
        (rule.from ?? []).map((peer) => ({
          peer: peer.namespaceSelector
            ? `namespace ${JSON.stringify(peer.namespaceSelector.matchLabels)} pods ${JSON.stringify(peer.podSelector?.matchLabels)}`
            : podsSelectedBy(objects, peer.podSelector ?? {})
                .map((w) => w.metadata.name)
                .join(','),
          ports: (rule.ports ?? []).map((p) => p.port),
        })),
      );
    const internalPort = Number(
      effectiveEnv(appContainer(objects, 'auth-service'), objects).get('INTERNAL_PORT')?.value,
    );
    expect(internalPort).not.toBe(8081);
    const expected = [
      { peer: 'ws-gateway', ports: [internalPort] },
      { peer: INGRESS_CONTROLLER, ports: [8081] },
    ];
    if (build.includes('metrics-scrape'))
      expect(peers.filter((p) => !p.peer.includes('monitoring'))).toEqual(expected);
    else expect(peers).toEqual(expected);
  });

  it('opens each app port only to its callers: public to the ingress controller, internal to the gateway, metrics to monitoring', () => {
    const policies = ofKind<{
      spec: {
        podSelector: LabelSelector;
        ingress?: {
          from?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector }[];
          ports?: { port: number | string }[];
        }[];
      };
    }>(objects, 'NetworkPolicy');
    const openings: string[] = [];
    for (const app of APPS) {
      const deployment = named(objects, 'Deployment', app) as Workload;
      const ports = appContainer(objects, app).ports ?? [];
      const nameOf = (port: number | string) =>
        ports.find((p) => p.containerPort === port || p.name === port)?.name ?? `unknown ${port}`;
      for (const policy of policies.filter((p) =>
        selects(p.spec.podSelector, deployment.spec.template.metadata.labels),
      ))
        for (const rule of policy.spec.ingress ?? []) {
          // A rule without ports opens every port, the private ones included.
          expect({ policy: policy.metadata.name, ports: (rule.ports ?? []).length > 0 }).toEqual({
            policy: policy.metadata.name,
            ports: true,
          });
          for (const peer of rule.from ?? [])
            for (const port of (rule.ports ?? []).filter(
              (p) => nameOf(p.port) !== `unknown ${p.port}`,
            ))
              openings.push(
                `${app}:${nameOf(port.port)} <- ${
                  peer.namespaceSelector
                    ? `namespace ${JSON.stringify(peer.namespaceSelector.matchLabels)} pods ${JSON.stringify(peer.podSelector?.matchLabels)}`
                    : podsSelectedBy(objects, peer.podSelector ?? {})
                        .map((w) => w.metadata.name)
                        .join(',')
                }`,
              );
        }
    }
    const expected = [
      `auth-service:http <- ${INGRESS_CONTROLLER}`,
      'auth-service:internal <- ws-gateway',
      `ws-gateway:http <- ${INGRESS_CONTROLLER}`,
      ...(build.includes('metrics-scrape')
        ? [
            `auth-service:metrics <- ${MONITORING}`,
            `ws-gateway:metrics <- ${MONITORING}`,
            `agent-worker:http <- ${MONITORING}`,
          ]
        : []),
    ];
    expect(openings.sort()).toEqual(expected.sort());
  });

  it('points the gateway at the internal port of auth-service, through a Service the Ingress does not use', () => {
    const url = new URL(
      effectiveEnv(appContainer(objects, 'ws-gateway'), objects).get('AUTH_SERVICE_URL')?.value ??
        '',
    );
    const service = named(objects, 'Service', url.hostname);
    const ports = (service['spec'] as { ports: { port: number; targetPort: string | number }[] })
      .ports;
    expect(ports.map((p) => [p.port, p.targetPort])).toEqual([[Number(url.port), 'internal']]);
    const backends = ofKind<{
      spec: { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] };
    }>(objects, 'Ingress').flatMap((i) =>
      i.spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service.name)),
    );
    expect(backends).not.toContain(url.hostname);
  });

  it('lets only the three services reach Redis', () => {
    const redis = named(objects, 'StatefulSet', 'redis') as Workload;
    const policies = ofKind<{
      spec: {
        podSelector: LabelSelector;
        ingress?: { from?: { podSelector?: LabelSelector }[] }[];
      };
    }>(objects, 'NetworkPolicy').filter((p) =>
      selects(p.spec.podSelector, redis.spec.template.metadata.labels),
    );
    const peers = policies
      .flatMap((p) => p.spec.ingress ?? [])
      .flatMap((r) => r.from ?? [])
      .flatMap((peer) =>
        podsSelectedBy(objects, peer.podSelector ?? {}).map((w) => w.metadata.name),
      );
    expect(peers.sort()).toEqual([...APPS].sort());
  });

  it('routes only public paths through the Ingress, with WebSocket-friendly nginx settings', () => {
    const ingresses = ofKind<{
      metadata: { annotations?: Record<string, string> };
      spec: {
        ingressClassName?: string;
        tls?: { hosts: string[]; secretName: string }[];
        rules: {
          host: string;
          http: {
            paths: {
              path: string;
              pathType: string;
              backend: { service: { name: string; port: { name?: string; number?: number } } };
            }[];
          };
        }[];
      };
    }>(objects, 'Ingress');
    const gatewayEnv = effectiveEnv(appContainer(objects, 'ws-gateway'), objects);
    const wsPath = gatewayEnv.get('WS_PATH')?.value ?? schemaDefault('ws-gateway', 'WS_PATH');
    const routes: string[] = [];
    for (const ingress of ingresses) {
      expect(ingress.spec.ingressClassName).toBe('nginx');
      for (const rule of ingress.spec.rules) {
        expect(ingress.spec.tls?.flatMap((t) => t.hosts)).toContain(rule.host);
        for (const path of rule.http.paths) {
          routes.push(`${path.path} -> ${path.backend.service.name}`);
          expect(path.path).not.toMatch(/^\/?$|^\/(internal|metrics|health|docs)/);
          const service = named(objects, 'Service', path.backend.service.name);
          const ports = (
            service['spec'] as { ports: { name: string; port: number; targetPort: string }[] }
          ).ports;
          // Only ever the public container port: never internal or metrics.
          expect(
            ports
              .filter(
                (p) =>
                  p.name === path.backend.service.port.name ||
                  p.port === path.backend.service.port.number,
              )
              .map((p) => p.targetPort),
          ).toEqual(['http']);
          if (path.backend.service.name === 'ws-gateway') {
            const a = ingress.metadata.annotations ?? {};
            expect(
              Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']),
            ).toBeGreaterThanOrEqual(3600);
            expect(
              Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout']),
            ).toBeGreaterThanOrEqual(3600);
            expect(a['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
          }
        }
      }
    }
    expect(routes.sort()).toEqual(
      [
        `${wsPath} -> ws-gateway`,
        '/auth -> auth-service',
        '/websocket/ticket -> auth-service',
        '/.well-known/jwks.json -> auth-service',
      ].sort(),
    );
  });
});

describe.each(OVERLAYS)('overlay %s', (overlay) => {
  const objects = builds[overlay];
  const env = (app: AppName) => effectiveEnv(appContainer(objects, app), objects);

  it('sets NODE_ENV for its environment', () => {
    for (const app of APPS)
      expect(env(app).get('NODE_ENV')?.value).toBe(
        overlay === 'prod' ? 'production' : 'development',
      );
  });

  it('sets the same ALLOWED_ORIGINS for auth-service and the gateway, without *', () => {
    const origins = env('auth-service').get('ALLOWED_ORIGINS')?.value;
    expect(origins).toBeDefined();
    expect(env('ws-gateway').get('ALLOWED_ORIGINS')?.value).toBe(origins);
    expect(origins).not.toContain('*');
  });

  it('deploys the app images from a registry at a release tag', () => {
    for (const app of APPS)
      expect(appContainer(objects, app).image).toMatch(
        new RegExp(`^[a-z0-9.-]+\\.[a-z]+/admitone/${app}:[0-9][\\w.-]*$`),
      );
  });

  it('puts everything in its own namespace, under the restricted Pod Security Standard', () => {
    const [namespace] = ofKind(objects, 'Namespace');
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const o of objects.filter((o) => o.kind !== 'Namespace'))
      expect(o.metadata.namespace).toBe(namespace.metadata.name);
  });
});

describe('overlay prod', () => {
  const objects = builds['prod'];

  it.each(APPS)('sets every variable %s requires in production', (app) => {
    const env = effectiveEnv(appContainer(objects, app), objects);
    for (const need of REQUIRED_IN_PRODUCTION[app])
      expect({ need, set: need.split('|').some((n) => env.has(n)) }).toEqual({ need, set: true });
    expect(env.has('SEED_USERS')).toBe(false);
    const origins = env.get('ALLOWED_ORIGINS')?.value;
    if (origins) for (const o of origins.split(',')) expect(o).toMatch(/^https:\/\/[^*]+$/);
  });

  it('runs at least three replicas of the services users talk to, and two workers', () => {
    const min = (name: string) =>
      (named(objects, 'HorizontalPodAutoscaler', name)['spec'] as { minReplicas: number })
        .minReplicas;
    expect(min('auth-service')).toBeGreaterThanOrEqual(3);
    expect(min('ws-gateway')).toBeGreaterThanOrEqual(3);
    expect(min('agent-worker')).toBeGreaterThanOrEqual(2);
  });
});

describe('REQUIRED_IN_PRODUCTION', () => {
  it('covers every variable whose schema refuses to run in production without it', () => {
    for (const app of APPS) {
      const listed = REQUIRED_IN_PRODUCTION[app].flatMap((n) => n.split('|'));
      for (const v of configOf(app).variables)
        if (v.required || v.production.some((m) => /required|must be set/.test(m)))
          expect({ app, variable: v.name, listed: listed.includes(v.name) }).toEqual({
            app,
            variable: v.name,
            listed: true,
          });
    }
  });
});

// ------------------------------------------------------------------ Cloud Run

interface KnativeService {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    template: {
      metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
      spec: {
        containerConcurrency?: number;
        timeoutSeconds?: number;
        serviceAccountName?: string;
        containers: Container[];
        volumes?: Volume[];
      };
    };
    traffic?: { latestRevision?: boolean; percent: number }[];
  };
}

/** Cloud Run sends SIGKILL this long after SIGTERM (not configurable). */
const CLOUD_RUN_GRACE_SECONDS = 10;

/**
 * Each Cloud Run service, by file, and the app its image runs. auth-service
 * runs twice: the public API, and the internal one the gateways call.
 */
const CLOUD_RUN: [string, AppName][] = [
  ['auth-service', 'auth-service'],
  ['auth-service-internal', 'auth-service'],
  ['ws-gateway', 'ws-gateway'],
  ['agent-worker', 'agent-worker'],
];
const cloudRun = (name: string) => {
  const file = `k8s/cloudrun/${name}.yaml`;
  return parseYamlDocuments(readText(file), file) as KnativeService[];
};
/** The Managed Service for Prometheus sidecar: scrapes METRICS_PORT on localhost. */
const COLLECTOR = 'collector';
/** The Cloud Run job that migrates the accounts database before a release (its own describe). */
const MIGRATE_JOB = 'auth-service-migrate';
/** The Cloud SQL instance connection name of the services and the job. */
const CLOUD_SQL_INSTANCE = /^[a-zA-Z0-9_-]+:[a-zA-Z0-9_-]+:[a-z][a-z0-9-]*$/;
const RUN_MONITORING_SECRET = 'admitone-run-monitoring';

describe('k8s/cloudrun', () => {
  it('has a check for every Cloud Run service file', () => {
    expect(filesUnder('k8s/cloudrun')).toEqual(
      expect.arrayContaining([
        `k8s/cloudrun/${MIGRATE_JOB}.yaml`,
        'k8s/cloudrun/run-monitoring.yaml',
      ]),
    );
    expect(
      filesUnder('k8s/cloudrun')
        .filter((f) => !f.endsWith('run-monitoring.yaml') && !f.endsWith(`${MIGRATE_JOB}.yaml`))
        .map((f) => posix.basename(f, '.yaml'))
        .sort(),
    ).toEqual(CLOUD_RUN.map(([name]) => name).sort());
  });

  /**
   * Issue 10 item 7. Cloud Run routes one port per service. A service that
   * answers /internal/* or /metrics (or /docs) on that port must be
   * internal-only; a public one (ingress all) must have moved them to ports
   * Cloud Run never routes (INTERNAL_PORT, METRICS_PORT).
   */
  it('keeps /internal, /metrics and /docs off the port of every public service', () => {
    const exposure = CLOUD_RUN.map(([name, app]) => {
      const service = cloudRun(name)[0];
      const c = service.spec.template.spec.containers[0];
      const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
      const routed = c.ports?.[0]?.containerPort;
      const offPort = (variable: string) =>
        env.get(variable) !== undefined && Number(env.get(variable)) !== routed;
      const onRoutedPort = [
        ...(app === 'auth-service' && !offPort('INTERNAL_PORT') ? ['/internal'] : []),
        ...(app === 'agent-worker' || !offPort('METRICS_PORT') ? ['/metrics'] : []),
        ...(app === 'auth-service' && !offPort('METRICS_PORT') ? ['/docs'] : []),
      ];
      const ingress = service.metadata.annotations?.['run.googleapis.com/ingress'];
      const iamDisabled =
        service.metadata.annotations?.['run.googleapis.com/invoker-iam-disabled'] ??
        service.spec.template.metadata.annotations?.['run.googleapis.com/invoker-iam-disabled'];
      expect({ name, iamDisabled }).toEqual({ name, iamDisabled: undefined });
      if (onRoutedPort.length > 0) expect({ name, ingress }).toEqual({ name, ingress: 'internal' });
      return { name, ingress, onRoutedPort };
    });
    expect(exposure).toEqual([
      { name: 'auth-service', ingress: 'all', onRoutedPort: [] },
      { name: 'auth-service-internal', ingress: 'internal', onRoutedPort: ['/internal'] },
      { name: 'ws-gateway', ingress: 'all', onRoutedPort: [] },
      { name: 'agent-worker', ingress: 'internal', onRoutedPort: ['/metrics'] },
    ]);
  });

  it('has the gateway call the internal auth-service over the VPC, with an ID token for its URL', () => {
    const gateway = cloudRun('ws-gateway')[0];
    const env = new Map(
      (gateway.spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value]),
    );
    const url = new URL(env.get('AUTH_SERVICE_URL') ?? '');
    expect(url.protocol).toBe('https:');
    expect(url.hostname).toMatch(/^auth-service-internal-[a-z0-9_]+\.[a-z0-9_-]+\.run\.app$/);
    expect(env.get('AUTH_SERVICE_AUDIENCE')).toBe(env.get('AUTH_SERVICE_URL'));
    // Only requests that leave through the VPC count as internal.
    expect(
      gateway.spec.template.metadata.annotations?.['run.googleapis.com/vpc-access-egress'],
    ).toBe('all-traffic');
    expect(
      cloudRun('auth-service-internal')[0].metadata.annotations?.['run.googleapis.com/ingress'],
    ).toBe('internal');
  });

  it('scrapes each METRICS_PORT through the Prometheus sidecar, on localhost', () => {
    const [monitoring] = parseYamlDocuments(
      readText('k8s/cloudrun/run-monitoring.yaml'),
      'run-monitoring.yaml',
    ) as { kind: string; spec: { endpoints: { port: number; path: string }[] } }[];
    expect(monitoring.kind).toBe('RunMonitoring');
    const scraped: string[] = [];
    for (const [name, app] of CLOUD_RUN) {
      const template = cloudRun(name)[0].spec.template;
      const [main, ...sidecars] = template.spec.containers;
      const port = (main.env ?? []).find((e) => e.name === 'METRICS_PORT')?.value;
      if (app === 'agent-worker') {
        expect({ name, port, sidecars: sidecars.length }).toEqual({
          name,
          port: undefined,
          sidecars: 0,
        });
        continue;
      }
      expect(sidecars.map((c) => c.name)).toEqual([COLLECTOR]);
      expect(sidecars[0].ports).toBeUndefined();
      const mount = sidecars[0].volumeMounts?.[0];
      expect(mount?.mountPath).toBe('/etc/rungmp');
      const volume = template.spec.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.secret?.secretName).toBe(RUN_MONITORING_SECRET);
      expect(volume?.secret?.items?.map((i) => i.path)).toEqual(['config.yaml']);
      expect(
        JSON.parse(
          template.metadata.annotations?.['run.googleapis.com/container-dependencies'] ?? '{}',
        ),
      ).toEqual({ [COLLECTOR]: [app] });
      if (monitoring.spec.endpoints.some((e) => e.port === Number(port) && e.path === '/metrics'))
        scraped.push(name);
    }
    expect(scraped).toEqual(['auth-service', 'auth-service-internal', 'ws-gateway']);
  });
});

describe(`k8s/cloudrun/${MIGRATE_JOB}.yaml`, () => {
  const file = `k8s/cloudrun/${MIGRATE_JOB}.yaml`;
  const docs = parseYamlDocuments(readText(file), file) as {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: {
      template: {
        metadata: { annotations?: Record<string, string> };
        spec: {
          taskCount?: number;
          parallelism?: number;
          template: { spec: { containers: Container[]; volumes?: Volume[]; maxRetries?: number } };
        };
      };
    };
  }[];
  const job = docs[0];
  const task = job.spec.template.spec.template.spec;
  const container = task.containers[0];
  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  const service = cloudRun('auth-service')[0];
  const app = service.spec.template.spec.containers[0];
  const appEnv = new Map((app.env ?? []).map((e) => [e.name, e]));

  it('is one Cloud Run job (run.googleapis.com/v1) running one task, without retries', () => {
    expect(docs).toHaveLength(1);
    expect(job.apiVersion).toBe('run.googleapis.com/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata.name).toBe(MIGRATE_JOB);
    expect(job.spec.template.spec.taskCount).toBe(1);
    expect(job.spec.template.spec.parallelism).toBe(1);
    expect(task.maxRetries).toBe(0);
    expect(task.containers).toHaveLength(1);
    expect(containerProblems(container)).toEqual([]);
    for (const v of task.volumes ?? []) expect(volumeProblems(v)).toEqual([]);
  });

  it("runs the migrate command of auth-service's image, at the same tag as the service", () => {
    expect(isPinnedImage(container.image)).toBe(true);
    expect(container.image).toBe(app.image);
    expect(container.command).toEqual(MIGRATE_ARGV);
    expect(container.args).toBeUndefined();
    expect(migrateCommandProblems(container.command)).toEqual([]);
  });

  it("has auth-service's production configuration, which the CLI validates, and its database", () => {
    const known = variableNames('auth-service');
    for (const [name, e] of env) {
      expect({ name, known: known.includes(name) }).toEqual({ name, known: true });
      // The same value, or the same Secret Manager secret, as the service.
      expect({ name, e }).toEqual({ name, e: appEnv.get(name) });
    }
    for (const need of REQUIRED_IN_PRODUCTION['auth-service'])
      expect({ need, set: need.split('|').some((n) => env.has(n)) }).toEqual({ need, set: true });
    const documented = documentedSecrets();
    for (const [name, e] of env) {
      if (holdsCredential(name))
        expect({ name, ref: !!e.valueFrom?.secretKeyRef }).toEqual({ name, ref: true });
      const ref = e.valueFrom?.secretKeyRef;
      if (ref)
        expect({ ref: ref.name, documented: documented.has(ref.name) }).toEqual({
          ref: ref.name,
          documented: true,
        });
    }
    const keysFile = env.get('JWT_SIGNING_KEYS_FILE')?.value ?? 'unset';
    const mount = (container.volumeMounts ?? []).find((m) =>
      keysFile.startsWith(`${m.mountPath}/`),
    );
    const volume = task.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.secret?.items?.map((i) => i.path)).toContain(
      keysFile.slice((mount?.mountPath.length ?? 0) + 1),
    );
    expect(job.spec.template.metadata.annotations?.['run.googleapis.com/cloudsql-instances']).toBe(
      service.spec.template.metadata.annotations?.['run.googleapis.com/cloudsql-instances'],
    );
  });
});

describe.each(CLOUD_RUN)('k8s/cloudrun/%s.yaml', (name, app) => {
  const docs = cloudRun(name);
  const service = docs[0];
  const template = service.spec.template;
  const container = template.spec.containers[0];
  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  const annotations = template.metadata.annotations ?? {};

  it('is one Knative serving.knative.dev/v1 Service named after its file, running the app first', () => {
    expect(docs).toHaveLength(1);
    expect(service.apiVersion).toBe('serving.knative.dev/v1');
    expect(service.kind).toBe('Service');
    expect(service.metadata.name).toBe(name);
    expect(container.name).toBe(app);
    expect(template.spec.containers.slice(1).map((c) => c.name)).toEqual(
      app === 'agent-worker' ? [] : [COLLECTOR],
    );
    expect(service.spec.traffic?.reduce((sum, t) => sum + t.percent, 0) ?? 100).toBe(100);
  });

  it('has valid container specs (as core/v1 Container) and volumes', () => {
    for (const c of template.spec.containers) expect(containerProblems(c)).toEqual([]);
    for (const v of template.spec.volumes ?? []) expect(volumeProblems(v)).toEqual([]);
  });

  it('writes every annotation value as a string (Cloud Run refuses numbers)', () => {
    for (const [key, value] of Object.entries({
      ...(service.metadata.annotations ?? {}),
      ...annotations,
    }))
      expect({ key, type: typeof value }).toEqual({ key, type: 'string' });
  });

  it('pins every image', () => {
    for (const c of template.spec.containers)
      expect({ image: c.image, pinned: isPinnedImage(c.image) }).toEqual({
        image: c.image,
        pinned: true,
      });
  });

  it(`listens on the app's default port, which Cloud Run passes as PORT`, () => {
    expect(container.ports?.map((p) => p.containerPort)).toEqual([defaultPort(app)]);
    expect(env.has('PORT')).toBe(false); // reserved on Cloud Run
  });

  it('probes /health/live at startup and for liveness', () => {
    for (const probe of [container.startupProbe, container.livenessProbe])
      expect(probe?.httpGet).toEqual({ path: '/health/live', port: defaultPort(app) });
  });

  it('sets only variables its config schema knows, and every one production requires', () => {
    const known = variableNames(app);
    for (const name of env.keys())
      expect({ name, known: known.includes(name) }).toEqual({ name, known: true });
    for (const need of REQUIRED_IN_PRODUCTION[app])
      expect({ need, set: need.split('|').some((n) => env.has(n)) }).toEqual({ need, set: true });
    expect(env.get('NODE_ENV')?.value).toBe('production');
    expect(env.has('SEED_USERS')).toBe(false);
    const origins = env.get('ALLOWED_ORIGINS')?.value;
    if (origins) for (const o of origins.split(',')) expect(o).toMatch(/^https:\/\/[^*]+$/);
  });

  it('takes secrets from Secret Manager, each documented in the runbook', () => {
    const documented = documentedSecrets();
    for (const [name, e] of env) {
      if (holdsCredential(name)) {
        expect({ name, ref: !!e.valueFrom?.secretKeyRef }).toEqual({ name, ref: true });
      }
      const ref = e.valueFrom?.secretKeyRef;
      if (ref)
        expect({ name: ref.name, documented: documented.has(ref.name) }).toEqual({
          name: ref.name,
          documented: true,
        });
    }
    for (const v of template.spec.volumes ?? [])
      if (v.secret)
        expect({
          name: v.secret.secretName,
          documented: documented.has(v.secret.secretName),
        }).toEqual({
          name: v.secret.secretName,
          documented: true,
        });
    const keysFile = env.get('JWT_SIGNING_KEYS_FILE')?.value;
    if (keysFile) {
      const mount = (container.volumeMounts ?? []).find((m) =>
        keysFile.startsWith(`${m.mountPath}/`),
      );
      const volume = template.spec.volumes?.find((v) => v.name === mount?.name);
      expect(volume?.secret?.items?.map((i) => i.path)).toContain(
        keysFile.slice((mount?.mountPath.length ?? 0) + 1),
      );
    }
  });

  it('keeps at least one instance warm', () => {
    expect(Number(annotations['autoscaling.knative.dev/minScale'])).toBeGreaterThanOrEqual(1);
    expect(Number(annotations['autoscaling.knative.dev/maxScale'])).toBeGreaterThanOrEqual(
      Number(annotations['autoscaling.knative.dev/minScale']),
    );
    expect(template.spec.containerConcurrency).toBeGreaterThanOrEqual(1);
    expect(template.spec.containerConcurrency).toBeLessThanOrEqual(1000);
    expect(template.spec.timeoutSeconds).toBeLessThanOrEqual(3600);
  });

  if (app !== 'agent-worker')
    it(`trusts exactly one proxy hop (Google's front end) for client addresses`, () => {
      const name = app === 'auth-service' ? 'TRUST_PROXY' : 'TRUST_PROXY_HOPS';
      expect(env.get(name)?.value).toBe('1');
    });

  it(
    app === 'auth-service'
      ? 'reaches Cloud SQL through the built-in connection, with DATABASE_URL from Secret Manager'
      : 'has no database',
    () => {
      const instance = annotations['run.googleapis.com/cloudsql-instances'];
      const database = env.get('DATABASE_URL')?.valueFrom?.secretKeyRef;
      if (app !== 'auth-service') return expect({ instance, database }).toEqual({});
      expect(instance).toMatch(CLOUD_SQL_INSTANCE);
      expect(database).toEqual({ name: 'admitone-database-url', key: 'latest' });
      expect(env.get('DATABASE_URL')?.value).toBeUndefined();
      // Production default: the job above migrates; a revision never does by itself.
      expect(env.get('DATABASE_MIGRATE_ON_START')?.value ?? 'unset').not.toBe('true');
    },
  );

  if (app === 'ws-gateway')
    it('is sized for WebSockets: hour-long requests, high concurrency, affinity, CPU always on, a drain that fits', () => {
      expect(template.spec.timeoutSeconds).toBeGreaterThanOrEqual(3600);
      expect(template.spec.containerConcurrency).toBeGreaterThanOrEqual(250);
      expect(annotations['run.googleapis.com/sessionAffinity']).toBe('true');
      expect(annotations['run.googleapis.com/cpu-throttling']).toBe('false');
      const drain = Number(env.get('DRAIN_SECONDS')?.value ?? schemaDefault(app, 'DRAIN_SECONDS'));
      expect(drain + 2).toBeLessThan(CLOUD_RUN_GRACE_SECONDS);
    });

  if (app === 'agent-worker')
    it('always has CPU and takes no traffic from outside: it works off Redis, not requests', () => {
      expect(annotations['run.googleapis.com/cpu-throttling']).toBe('false');
      expect(service.metadata.annotations?.['run.googleapis.com/ingress']).toBe('internal');
    });
});
