import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connectTestRedis, createTestDatabase, TestDatabase, TestRedis } from '@admitone/testing';
import { exportJWK, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import {
  ContainerProcess,
  exitWithin,
  freePort,
  startContainerProcess,
  waitUntilReady,
} from './support/container-process';
import { envPairs, execForm, healthcheck, parseDockerfile } from './support/dockerfile';
import {
  Container,
  effectiveEnv,
  K8sObject,
  kustomize,
  named,
  preStopSeconds,
  Workload,
} from './support/manifests';
import { APPS, AppName, readText, workspaceRoot } from './support/workspace';

/**
 * The built apps, run the way their images run them: the Dockerfile's CMD
 * and ENV, node as PID 1 of its own PID namespace, and the settings of the
 * production overlay (k8s/overlays/prod as kustomize builds it), with
 * generated secrets where the manifests reference Secrets and the test's
 * Redis, PostgreSQL database, prefix and free ports where a cluster would
 * have its own. auth-service's init container (the migrate command) runs
 * first, as the pod would run it. Then:
 * ready, the images' HEALTHCHECK passes, a user is served end to end, and
 * SIGTERM ends each one with exit code 0 inside its grace period (the
 * gateway closing its sockets with 1012 first). And with no configuration,
 * or insecure values, each refuses to start, naming the variables.
 */
jest.setTimeout(60_000);

interface Image {
  argv: string[];
  env: Record<string, string>;
  healthcheck: string[];
}
function image(app: AppName): Image {
  const runtime = parseDockerfile(readText(`docker/${app}.Dockerfile`)).at(-1);
  const find = (keyword: string) =>
    runtime?.instructions.filter((i) => i.keyword === keyword) ?? [];
  const argv = execForm(find('CMD')[0]?.args ?? '');
  const check = execForm(healthcheck(find('HEALTHCHECK')[0]?.args ?? '').command);
  if (!argv || !check) throw new Error(`${app}: CMD and HEALTHCHECK must be in exec form`);
  return {
    argv,
    env: Object.fromEntries(find('ENV').flatMap((e) => envPairs(e.args))),
    healthcheck: check,
  };
}

/** Requires of a webpack bundle that are left to node_modules at run time. */
function externalPackages(bundle: string): string[] {
  const names = [...bundle.matchAll(/require\("([^"./][^"]*)"\)/g)].map((m) => m[1]);
  return [
    ...new Set(
      names
        .filter((n) => !n.startsWith('node:') && !builtinModules.includes(n))
        .map((n) => (n.startsWith('@') ? n.split('/').slice(0, 2).join('/') : n.split('/')[0])),
    ),
  ].sort();
}

describe('the image install (npm ci --omit=dev of the generated package.json and lockfile)', () => {
  it.each(APPS)('provides every package the %s bundle requires', (app) => {
    const dist = `dist/apps/${app}`;
    const lock = JSON.parse(readText(`${dist}/package-lock.json`)) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const bundles = ['main.js', ...(app === 'auth-service' ? ['users-cli.js'] : [])];
    for (const bundle of bundles)
      for (const pkg of externalPackages(readText(`${dist}/${bundle}`))) {
        const entry = lock.packages[`node_modules/${pkg}`];
        expect({ bundle, pkg, installed: !!entry && !entry.dev }).toEqual({
          bundle,
          pkg,
          installed: true,
        });
      }
  });
});

describe('the built apps, run as their images with the production overlay', () => {
  let redis: TestRedis;
  let database: TestDatabase;
  let secretsDir: string;
  let prod: K8sObject[];
  const migrations: { status: number | null; stdout: string; stderr: string }[] = [];
  const running = new Map<AppName, ContainerProcess>();
  const envs = new Map<AppName, Record<string, string>>();
  const exchangeKey = randomBytes(32).toString('base64url');
  let socket: WebSocket | undefined;
  const closed: { code?: number } = {};

  /**
   * The environment of `app`'s container (or of its init container `init`),
   * from the Dockerfile and the prod overlay.
   */
  function containerEnv(
    app: AppName,
    secrets: Record<string, string>,
    init?: string,
  ): Record<string, string> {
    const deployment = named(prod, 'Deployment', app) as Workload;
    const pod = deployment.spec.template.spec;
    const container: Container | undefined = init
      ? pod.initContainers?.find((c) => c.name === init)
      : pod.containers[0];
    if (!container) throw new Error(`${app}: no init container ${init}`);
    const env: Record<string, string> = { ...image(app).env };
    // Secret volumes become files under a temporary directory, at the mounted paths.
    const mounts = new Map<string, string>();
    for (const mount of container.volumeMounts ?? []) {
      const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === mount.name);
      if (!volume?.secret) continue;
      const dir = join(secretsDir, app, container.name, mount.name);
      mkdirSync(dir, { recursive: true });
      for (const item of volume.secret.items ?? []) {
        const value = secrets[`${volume.secret.secretName}/${item.key}`];
        if (value === undefined)
          throw new Error(`no test value for Secret ${volume.secret.secretName} key ${item.key}`);
        mkdirSync(dirname(join(dir, item.path)), { recursive: true });
        writeFileSync(join(dir, item.path), value);
      }
      mounts.set(mount.mountPath, dir);
    }
    for (const [name, source] of effectiveEnv(container, prod)) {
      let value = source.value;
      const ref = source.ref;
      if (ref?.secretKeyRef) value = secrets[`${ref.secretKeyRef.name}/${ref.secretKeyRef.key}`];
      else if (ref?.fieldRef?.fieldPath === 'metadata.name') value = `${app}-5d8f7c9b6-x2x4q`;
      else if (ref)
        throw new Error(
          `${app}: ${name} comes from ${JSON.stringify(ref)}, which this test does not provide`,
        );
      if (value === undefined) throw new Error(`${app}: no test value for ${name}`);
      for (const [mountPath, dir] of mounts)
        if (value.startsWith(`${mountPath}/`)) value = dir + value.slice(mountPath.length);
      env[name] = value;
    }
    return env;
  }

  const budgetSeconds = (app: AppName) => {
    const pod = (named(prod, 'Deployment', app) as Workload).spec.template.spec;
    // SIGTERM arrives after the preStop hook, and SIGKILL at the end of the grace period.
    return (pod.terminationGracePeriodSeconds ?? 30) - preStopSeconds(pod.containers[0]);
  };

  beforeAll(async () => {
    redis = await connectTestRedis();
    database = await createTestDatabase();
    secretsDir = mkdtempSync(join(tmpdir(), 'deploy-checks-secrets-'));
    prod = kustomize('k8s/overlays/prod');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'deploy-checks-1', alg: 'ES256' };
    const secrets: Record<string, string> = {
      'admitone-redis/url': redis.url,
      'admitone-database/url': database.url,
      'admitone-exchange/client-keys': exchangeKey,
      'admitone-exchange/client-key': exchangeKey,
      'admitone-jwt/signing-keys.json': JSON.stringify([signingKey]),
    };
    const ports = Object.fromEntries(
      await Promise.all(APPS.map(async (app) => [app, await freePort()] as const)),
    ) as Record<AppName, number>;
    // A pod has its own network namespace; here every port the overlay sets
    // (INTERNAL_PORT, METRICS_PORT) becomes a free one, and the gateway calls
    // auth-service where the overlay points it: the internal port if there is one.
    const sidePorts = new Map<AppName, Record<string, string>>();
    for (const app of APPS) {
      const overlay = containerEnv(app, secrets);
      const side: Record<string, string> = {};
      for (const name of ['INTERNAL_PORT', 'METRICS_PORT'])
        if (overlay[name] !== undefined) side[name] = String(await freePort());
      sidePorts.set(app, side);
    }
    const authSide = sidePorts.get('auth-service') ?? {};
    for (const app of APPS) {
      envs.set(app, {
        ...containerEnv(app, secrets),
        // Where a cluster has its own: this machine's loopback, ports and Redis key prefix.
        HOST: '127.0.0.1',
        PORT: String(ports[app]),
        ...sidePorts.get(app),
        REDIS_PREFIX: redis.prefix,
        ...(app === 'ws-gateway'
          ? {
              AUTH_SERVICE_URL: `http://127.0.0.1:${authSide['INTERNAL_PORT'] ?? ports['auth-service']}`,
              AUTH_SERVICE_ALLOW_HTTP: 'true',
            }
          : {}),
      });
    }
    // The pod's init container, the release step: the overlay's migrate
    // command in the auth-service image, with its own environment. Twice, as
    // two replicas of a rollout would: the second finds the schema current.
    const migrate = (named(prod, 'Deployment', 'auth-service') as Workload).spec.template.spec
      .initContainers?.[0];
    const [node, ...args] = migrate?.command ?? [];
    if (node !== 'node') throw new Error(`the migrate init container runs ${node}, not node`);
    for (let i = 0; i < 2; i++)
      migrations.push(
        spawnSync(process.execPath, args, {
          cwd: workspaceRoot,
          env: {
            PATH: process.env['PATH'],
            ...image('auth-service').env,
            ...containerEnv('auth-service', secrets, migrate?.name),
            REDIS_PREFIX: redis.prefix,
          },
          encoding: 'utf8',
          timeout: 30_000,
        }),
      );
    for (const app of APPS)
      running.set(
        app,
        startContainerProcess(app, image(app).argv, envs.get(app) ?? {}, ports[app]),
      );
    await Promise.all([...running.values()].map((p) => waitUntilReady(p)));
  });

  afterAll(async () => {
    socket?.terminate();
    for (const p of running.values()) p.kill();
    await Promise.all([...running.values()].map((p) => exitWithin(p, 10_000)));
    await redis?.cleanup();
    await database?.cleanup();
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  });

  const app = (name: AppName) => running.get(name) as ContainerProcess;

  it('migrates the accounts database in the init container before auth-service starts, once', async () => {
    const reports = migrations.map((m) => ({
      status: m.status,
      stderr: m.stderr,
      report: JSON.parse(m.stdout.trim() || 'null') as {
        applied: string[];
        schema_version: string;
      } | null,
    }));
    expect(reports).toEqual([
      {
        status: 0,
        stderr: '',
        report: { applied: expect.any(Array), schema_version: expect.any(String) },
      },
      { status: 0, stderr: '', report: { applied: [], schema_version: expect.any(String) } },
    ]);
    const [first, second] = reports.map((r) => r.report);
    expect(first?.applied.length).toBeGreaterThan(0);
    expect(first?.applied.at(-1)).toBe(first?.schema_version);
    expect(second?.schema_version).toBe(first?.schema_version);
    const tables = await database.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['users']));
  });

  it('refuses to start auth-service on a database the migrate step has not reached, naming the command', async () => {
    const lagging = await createTestDatabase('lagging-schema');
    const port = await freePort();
    const p = startContainerProcess(
      'auth-service',
      image('auth-service').argv,
      {
        ...envs.get('auth-service'),
        PORT: String(port),
        INTERNAL_PORT: String(await freePort()),
        METRICS_PORT: String(await freePort()),
        DATABASE_URL: lagging.url,
      },
      port,
    );
    try {
      const exit = await exitWithin(p, 20_000);
      const outcome = exit === 'timedOut' ? exit : exit.code === 0 ? 'exit 0' : 'failed';
      expect({ outcome, output: outcome === 'failed' ? '' : p.output() }).toEqual({
        outcome: 'failed',
        output: '',
      });
      expect(p.output()).toMatch(/lacks migrations [\s\S]*users-cli migrate/);
      expect(p.output()).not.toMatch(/listening/);
      // Nothing was created behind the operator's back.
      expect(
        await lagging.query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'users'`,
        ),
      ).toEqual([]);
    } finally {
      p.kill();
      await exitWithin(p, 10_000);
      await lagging.cleanup();
    }
  });

  it('runs in production mode with the overlay settings, and reports ready with its dependencies up', async () => {
    for (const name of APPS) expect(envs.get(name)?.['NODE_ENV']).toBe('production');
    const expected: Record<AppName, Record<string, string>> = {
      'auth-service': { database: 'up', redis: 'up' },
      'ws-gateway': { auth_service: 'up', redis: 'up' },
      'agent-worker': { redis: 'up' },
    };
    for (const name of APPS) {
      const res = await fetch(`${app(name).url}/health/ready`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok', checks: expected[name] });
      expect((await fetch(`${app(name).url}/health/live`)).status).toBe(200);
    }
  });

  it('answers /internal/* and /metrics only on the private ports the overlay sets', async () => {
    const on = (name: AppName, variable: string) =>
      `http://127.0.0.1:${envs.get(name)?.[variable] ?? 'unset'}`;
    const status = async (url: string, init?: RequestInit) => (await fetch(url, init)).status;
    const exchange = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    };
    expect({
      authPublicInternal: await status(
        `${app('auth-service').url}/internal/tickets/exchange`,
        exchange,
      ),
      authPrivateInternal: await status(
        `${on('auth-service', 'INTERNAL_PORT')}/internal/tickets/exchange`,
        exchange,
      ),
      authPublicMetrics: await status(`${app('auth-service').url}/metrics`),
      authPublicDocs: await status(`${app('auth-service').url}/docs/openapi.json`),
      authMetrics: await status(`${on('auth-service', 'METRICS_PORT')}/metrics`),
      gatewayPublicMetrics: await status(`${app('ws-gateway').url}/metrics`),
      gatewayMetrics: await status(`${on('ws-gateway', 'METRICS_PORT')}/metrics`),
    }).toEqual({
      authPublicInternal: 404,
      // Reached, and refused for want of the service credential.
      authPrivateInternal: 401,
      authPublicMetrics: 404,
      authPublicDocs: 404,
      authMetrics: 200,
      gatewayPublicMetrics: 404,
      gatewayMetrics: 200,
    });
  });

  it('passes the HEALTHCHECK of its image, which fails where nothing listens', async () => {
    const closedPort = await freePort();
    for (const name of APPS) {
      const [command, ...args] = image(name).healthcheck;
      expect(command).toBe('node');
      const run = (port: number) =>
        spawnSync(process.execPath, args, {
          env: { PATH: process.env['PATH'], PORT: String(port) },
          timeout: 10_000,
        }).status;
      expect({ name, status: run(app(name).port) }).toEqual({ name, status: 0 });
      expect({ name, status: run(closedPort) }).toEqual({ name, status: 1 });
    }
  });

  it('serves a user end to end: users CLI, login, ticket, upgrade, an agent run through the worker', async () => {
    const email = 'ops@example.com';
    const password = randomBytes(18).toString('base64url');
    const cli = spawnSync(process.execPath, ['dist/apps/auth-service/users-cli.js', 'add', email], {
      cwd: workspaceRoot,
      env: { PATH: process.env['PATH'], ...envs.get('auth-service'), USER_PASSWORD: password },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: '' });
    // The account is in PostgreSQL, where it survives an empty Redis.
    expect(
      await database.query('SELECT email, disabled FROM users WHERE email = $1', [email]),
    ).toEqual([{ email, disabled: false }]);

    const auth = app('auth-service').url;
    const login = await fetch(`${auth}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };
    const origin = (envs.get('ws-gateway')?.['ALLOWED_ORIGINS'] ?? '').split(',')[0];
    const issued = await fetch(`${auth}/websocket/ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, origin },
    });
    expect(issued.status).toBe(201);
    const { ticket } = (await issued.json()) as { ticket: string };

    const requestId = `deploy-checks-${randomBytes(4).toString('hex')}`;
    const gateway = app('ws-gateway');
    const wsPath = envs.get('ws-gateway')?.['WS_PATH'] ?? '/ws';
    const messages: { type: string; [k: string]: unknown }[] = [];
    const ws = new WebSocket(
      `ws://127.0.0.1:${gateway.port}${wsPath}`,
      ['agent.v1', `ticket.${ticket}`],
      {
        origin,
        headers: { 'x-request-id': requestId },
      },
    );
    socket = ws;
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.on('close', (code) => (closed.code = code));
    const until = async (predicate: () => boolean, what: string, ms = 15_000) => {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}: ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until(
      () => messages.some((m) => m.type === 'connection_established'),
      'connection_established',
    );
    expect(ws.protocol).toBe('agent.v1');
    ws.send(JSON.stringify({ type: 'chat', content: 'hello from the deploy checks' }));
    await until(
      () => messages.some((m) => m.type === 'agent_completed' || m.type === 'agent_failed'),
      'the run',
    );
    const run = messages.filter((m) => typeof m['run_id'] === 'string');
    expect(run[0].type).toBe('agent_started');
    expect(run.at(-1)?.type).toBe('agent_completed');

    // The audit trail of the runbook: the gateway's upgrade line and auth-service's
    // exchange audit line share the upgrade's request id.
    const lines = (p: ContainerProcess) =>
      p
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines(app('auth-service'))).toContainEqual(
      expect.objectContaining({
        audit: 'ticket_exchanged',
        request_id: requestId,
        ticket_hash: expect.any(String),
      }),
    );
    expect(lines(gateway)).toContainEqual(
      expect.objectContaining({ msg: 'upgrade accepted', request_id: requestId }),
    );
    for (const secret of [password, ticket, access_token, exchangeKey])
      for (const p of running.values()) expect(p.output()).not.toContain(secret);
  });

  it('stops on SIGTERM with exit code 0 inside the grace period, the gateway closing sockets with 1012', async () => {
    expect(socket?.readyState).toBe(WebSocket.OPEN);
    const gateway = app('ws-gateway');
    process.kill(gateway.appPid(), 'SIGTERM');
    const gatewayExit = await exitWithin(gateway, budgetSeconds('ws-gateway') * 1000);
    expect({ app: 'ws-gateway', exit: gatewayExit }).toEqual({
      app: 'ws-gateway',
      exit: { code: 0, signal: null, elapsedMs: expect.any(Number) },
    });
    expect(closed.code).toBe(1012);

    const others: AppName[] = ['auth-service', 'agent-worker'];
    for (const name of others) process.kill(app(name).appPid(), 'SIGTERM');
    const exits = await Promise.all(
      others.map(async (name) => ({
        app: name,
        exit: await exitWithin(app(name), budgetSeconds(name) * 1000),
      })),
    );
    expect(exits).toEqual(
      others.map((name) => ({
        app: name,
        exit: { code: 0, signal: null, elapsedMs: expect.any(Number) },
      })),
    );
  });
});

describe('the built apps refuse to start in production on insecure settings', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(async () => {
    await redis?.cleanup();
  });

  const weakKey = 'short-key';
  const cases: [string, AppName, () => Record<string, string>, string[]][] = [
    [
      'auth-service, unconfigured',
      'auth-service',
      () => ({}),
      // The development origins (plain http) are refused too.
      ['ALLOWED_ORIGINS', 'DATABASE_URL', 'EXCHANGE_CLIENT_KEYS', 'JWT_SIGNING_KEYS', 'REDIS_URL'],
    ],
    [
      'auth-service, insecure values',
      'auth-service',
      () => ({
        REDIS_URL: redis.url,
        ALLOWED_ORIGINS: '*',
        EXCHANGE_CLIENT_KEYS: weakKey,
        SEED_USERS: `demo@example.com:${weakKey}-password`,
      }),
      ['ALLOWED_ORIGINS', 'DATABASE_URL', 'EXCHANGE_CLIENT_KEYS', 'JWT_SIGNING_KEYS', 'SEED_USERS'],
    ],
    [
      'ws-gateway, unconfigured',
      'ws-gateway',
      () => ({}),
      // The default AUTH_SERVICE_URL is plain http.
      ['ALLOWED_ORIGINS', 'AUTH_SERVICE_URL', 'EXCHANGE_CLIENT_KEY', 'REDIS_URL'],
    ],
    [
      'ws-gateway, insecure values',
      'ws-gateway',
      () => ({ REDIS_URL: redis.url, ALLOWED_ORIGINS: '*', EXCHANGE_CLIENT_KEY: weakKey }),
      ['ALLOWED_ORIGINS', 'AUTH_SERVICE_URL', 'EXCHANGE_CLIENT_KEY'],
    ],
    ['agent-worker, unconfigured', 'agent-worker', () => ({}), ['REDIS_URL']],
  ];

  it.each(cases)(
    '%s: exits non-zero and names the variables',
    async (_label, name, extra, variables) => {
      const port = await freePort();
      const p = startContainerProcess(
        name,
        image(name).argv,
        { ...image(name).env, HOST: '127.0.0.1', PORT: String(port), ...extra() },
        port,
      );
      try {
        const exit = await exitWithin(p, 20_000);
        expect(exit).not.toBe('timedOut');
        if (exit === 'timedOut') return;
        expect(exit.code).not.toBe(0);
        const fatal = p
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level?: string; problems?: { variable: string }[] })
          .find((l) => l.level === 'fatal');
        expect(fatal?.problems?.map((pr) => pr.variable).sort()).toEqual(variables);
        expect(p.output()).not.toContain(weakKey);
        expect(p.output()).not.toMatch(/listening|consuming requests/);
      } finally {
        p.kill();
      }
    },
  );
});
