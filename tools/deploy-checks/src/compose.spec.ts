import { isPinnedImage, parseYamlDocuments } from './support/manifests';
import { MIGRATE_ARGV, migrateCommandProblems } from './support/migrate';
import {
  APPS,
  AppName,
  defaultPort,
  exists,
  isSecretName,
  readText,
  REQUIRED_IN_PRODUCTION,
  schemaDefault,
  variableNames,
} from './support/workspace';

/**
 * docker/compose.yaml is the production-like local stack. It cannot be run
 * here (no Docker engine), so it is held to the same rules as the
 * manifests: known variable names, production settings, secrets only from
 * the environment or files (compose's `${VAR:?}` refuses to start without
 * them), nothing literal that looks like a credential.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  secrets?: string[];
  ports?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  user?: string;
  profiles?: string[];
  command?: string[];
  restart?: string;
  volumes?: string[];
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
}

const [compose] = parseYamlDocuments(readText('docker/compose.yaml'), 'compose.yaml') as Compose[];
const required = (value: string) => /^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$/.test(value);
const seconds = (duration: string) => {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
};

describe('docker/compose.yaml', () => {
  it('runs Redis, PostgreSQL, the migrate step and the three services, and a web demo only if apps/web-demo exists', () => {
    const expected = [
      'redis',
      'postgres',
      'auth-service-migrate',
      ...APPS,
      ...(exists('apps/web-demo') ? ['web-demo'] : []),
    ];
    expect(Object.keys(compose.services).sort()).toEqual(expected.sort());
  });

  it('runs the web demo, when there is one, only on request (profile demo) and on loopback', () => {
    const demo = compose.services['web-demo'];
    if (!exists('apps/web-demo')) return expect(demo).toBeUndefined();
    expect(demo.profiles).toEqual(['demo']);
    expect(demo.ports).toEqual(['127.0.0.1:4200:4200']);
    expect(demo.read_only).toBe(true);
    expect(demo.user).toBe('node');
  });

  it('pins every image it pulls', () => {
    for (const [name, service] of Object.entries(compose.services))
      if (!service.build)
        expect({ name, pinned: isPinnedImage(service.image ?? '') }).toEqual({
          name,
          pinned: true,
        });
  });

  describe.each(APPS)('%s', (app: AppName) => {
    const service = compose.services[app];
    const env = service.environment ?? {};

    it('builds from its Dockerfile with the repository root as context', () => {
      expect(service.build).toEqual({ context: '..', dockerfile: `docker/${app}.Dockerfile` });
    });

    it('sets only variables its config schema knows', () => {
      const known = variableNames(app);
      for (const name of Object.keys(env))
        expect({ name, known: known.includes(name) }).toEqual({ name, known: true });
    });

    it('runs in production with every setting production requires', () => {
      expect(env['NODE_ENV']).toBe('production');
      for (const need of REQUIRED_IN_PRODUCTION[app])
        expect({ need, set: need.split('|').some((n) => n in env) }).toEqual({ need, set: true });
      expect(env['SEED_USERS']).toBeUndefined();
    });

    it('takes every secret from the environment (required) or a file, never a literal', () => {
      for (const [name, value] of Object.entries(env).filter(([n]) => isSecretName(n)))
        expect({ name, required: required(value) }).toEqual({ name, required: true });
      if (env['REDIS_URL']) expect(env['REDIS_URL']).toMatch(/\$\{REDIS_PASSWORD:\?[^}]*\}/);
      if (env['DATABASE_URL'])
        expect(env['DATABASE_URL']).toMatch(
          /^postgres:\/\/[^:@]+:\$\{POSTGRES_PASSWORD:\?[^}]*\}@/,
        );
      if ('ALLOWED_ORIGINS' in env) expect(required(env['ALLOWED_ORIGINS'])).toBe(true);
      if (env['JWT_SIGNING_KEYS_FILE']) {
        const secret = /^\/run\/secrets\/([a-z_]+)$/.exec(env['JWT_SIGNING_KEYS_FILE'])?.[1];
        expect(service.secrets).toContain(secret);
        expect(required(compose.secrets?.[secret as string]?.file ?? '')).toBe(true);
      }
    });

    it('runs hardened: read-only root, no capabilities, no privilege escalation', () => {
      expect(service.read_only).toBe(true);
      expect(service.cap_drop).toEqual(['ALL']);
      expect(service.security_opt).toContain('no-new-privileges:true');
    });

    // Users call auth-service and the gateway; the worker's port serves only
    // health and metrics, so it is not published at all.
    it('publishes its own port on loopback if users call it, and nothing otherwise', () => {
      const published: Record<AppName, string[] | undefined> = {
        'auth-service': [`127.0.0.1:${defaultPort(app)}:${defaultPort(app)}`],
        'ws-gateway': [`127.0.0.1:${defaultPort(app)}:${defaultPort(app)}`],
        'agent-worker': undefined,
      };
      expect(service.ports).toEqual(published[app]);
    });

    it('waits for Redis to be healthy before starting', () => {
      expect(service.depends_on?.['redis']).toEqual({ condition: 'service_healthy' });
    });
  });

  it('gives the gateway more than DRAIN_SECONDS + 2 s to drain before SIGKILL', () => {
    const gateway = compose.services['ws-gateway'];
    const drain = Number(
      gateway.environment?.['DRAIN_SECONDS'] ?? schemaDefault('ws-gateway', 'DRAIN_SECONDS'),
    );
    expect(seconds(gateway.stop_grace_period ?? '10s')).toBeGreaterThan(drain + 2);
  });

  it('points the gateway at the internal port of the auth-service of the stack, which it waits for', () => {
    const gateway = compose.services['ws-gateway'];
    const internalPort = compose.services['auth-service'].environment?.['INTERNAL_PORT'];
    expect(Number(internalPort)).not.toBe(defaultPort('auth-service'));
    expect(gateway.environment?.['AUTH_SERVICE_URL']).toBe(`http://auth-service:${internalPort}`);
    expect(gateway.depends_on?.['auth-service']).toEqual({ condition: 'service_healthy' });
  });

  it('keeps accounts in PostgreSQL: a required password, no root, no published port, a volume', () => {
    const postgres = compose.services['postgres'];
    expect(postgres.image).toMatch(/^postgres:\d+(\.\d+)*-alpine$/);
    expect(required(postgres.environment?.['POSTGRES_PASSWORD'] ?? '')).toBe(true);
    expect(postgres.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(postgres.ports).toBeUndefined();
    expect(postgres.read_only).toBe(true);
    expect(postgres.cap_drop).toEqual(['ALL']);
    const data = (postgres.volumes ?? []).find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.split(':')[0]);
    expect(postgres.healthcheck?.test).toContain('pg_isready');
    // auth-service reaches it by its service name, as the user it creates, with its password.
    const url = compose.services['auth-service'].environment?.['DATABASE_URL'] ?? '';
    expect(url).toBe(
      `postgres://${postgres.environment?.['POSTGRES_USER']}:\${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/${postgres.environment?.['POSTGRES_DB']}`,
    );
  });

  it('migrates the schema with the auth-service image before auth-service starts', () => {
    const migrate = compose.services['auth-service-migrate'];
    const auth = compose.services['auth-service'];
    expect(migrate.build).toEqual(auth.build);
    expect(migrate.image).toBe(auth.image);
    expect(migrate.command).toEqual(MIGRATE_ARGV);
    expect(migrateCommandProblems(migrate.command)).toEqual([]);
    // The CLI validates the service's configuration: the same settings and secrets.
    expect(migrate.environment).toEqual(auth.environment);
    expect(migrate.secrets).toEqual(auth.secrets);
    expect(migrate.restart).toBe('no');
    expect(migrate.ports).toBeUndefined();
    expect(migrate.read_only).toBe(true);
    expect(migrate.cap_drop).toEqual(['ALL']);
    expect(migrate.depends_on?.['postgres']).toEqual({ condition: 'service_healthy' });
    expect(auth.depends_on?.['auth-service-migrate']).toEqual({
      condition: 'service_completed_successfully',
    });
    expect(auth.depends_on?.['postgres']).toEqual({ condition: 'service_healthy' });
    // auth-service does not migrate by itself in production: the step above does.
    expect(auth.environment?.['DATABASE_MIGRATE_ON_START'] ?? 'unset').not.toBe('true');
  });

  it('protects Redis with a required password and runs it without root', () => {
    const redis = compose.services['redis'];
    expect(required(redis.environment?.['REDIS_PASSWORD'] ?? '')).toBe(true);
    expect(redis.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(redis.ports).toBeUndefined();
  });
});
