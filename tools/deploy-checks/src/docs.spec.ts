import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPS, configModel, filesUnder, readText, workspaceRoot } from './support/workspace';

/**
 * The operator docs stay true to the code: the configuration reference is
 * regenerated from the schemas and must match what is committed; the
 * runbook names every metric and audit event the code emits (and none that
 * it does not); the architecture has a sequence diagram for every flow.
 */
const node = (args: string[], input?: string) =>
  spawnSync(process.execPath, args, { cwd: workspaceRoot, encoding: 'utf8', input });

/** A `## heading` section of a markdown file, up to the next `## `. */
function section(markdown: string, heading: string): string {
  const start = markdown.search(new RegExp(`^## ${heading}\\b`, 'm'));
  if (start === -1) throw new Error(`no "## ${heading}" section`);
  const next = markdown.slice(start + 1).search(/^## /m);
  return markdown.slice(start, next === -1 ? undefined : start + 1 + next);
}

const sources = [...filesUnder('apps'), ...filesUnder('libs')].filter(
  (f) => /\/src\/.*\.ts$/.test(f) && !/\.spec\.ts$|\/test\//.test(f) && !f.includes('node_modules'),
);

describe('docs/configuration.md', () => {
  it('is what tools/scripts/config-reference.mjs generates from the schemas today', () => {
    const generated = node(['tools/scripts/config-reference.mjs', '--stdout']);
    expect(generated.stderr).toBe('');
    // On failure: run `node tools/scripts/config-reference.mjs` and commit the result.
    expect(readText('docs/configuration.md')).toBe(generated.stdout);
  });

  it.each(APPS)(
    'lists exactly the variables of the %s schema (checked by a plain line scan of its source)',
    (app) => {
      const service = configModel().find((s) => s.name === app);
      if (!service) throw new Error(`no model for ${app}`);
      const text = readText(service.file);
      const lines = text.slice(text.indexOf(`export const ${service.schema} =`)).split('\n');
      const names: string[] = [];
      for (const line of lines.slice(1)) {
        if (/^\s{0,2}\}\)/.test(line)) break;
        const m = /^\s{2,4}([A-Z][A-Z0-9_]*)\s*:/.exec(line);
        if (m) names.push(m[1]);
      }
      expect(service.variables.map((v) => v.name)).toEqual(names);
      for (const name of names)
        expect(readText('docs/configuration.md')).toContain(`| \`${name}\``);
    },
  );
});

describe('docs/runbook.md', () => {
  const runbook = readText('docs/runbook.md');

  it('explains every metric the services register, and no metric they do not', () => {
    const registered = new Set(
      sources.flatMap((f) =>
        [
          ...readText(f).matchAll(
            /(?:new (?:Counter|Gauge|Histogram|Summary)|\.(?:counter|histogram|gauge))\(\{\s*name:\s*'([a-z_:][a-z0-9_:]*)'/g,
          ),
        ].map((m) => m[1]),
      ),
    );
    expect(registered.size).toBeGreaterThanOrEqual(10);
    const metrics = section(runbook, 'Metrics');
    const table = new Set([...metrics.matchAll(/^\| `([a-z_:]+)`/gm)].map((m) => m[1]));
    expect([...table].sort()).toEqual([...registered].sort());
    const mentioned = [...metrics.matchAll(/\b((?:ws|auth|agent|http)_[a-z_]+)\b/g)].map((m) =>
      m[1].replace(/_(bucket|sum|count)$/, ''),
    );
    for (const name of mentioned)
      expect({ name, real: registered.has(name) }).toEqual({ name, real: true });
  });

  it('suggests the alerts the contract calls for: 1011 closes, exchange unavailability, refusal spikes', () => {
    const alerts = section(runbook, 'Metrics');
    expect(alerts).toContain('ws_closes_total{code="1011"}');
    expect(alerts).toMatch(/ws_upgrades_total\{result="unavailable"\}.*\/.*ws_upgrades_total/);
    expect(alerts).toMatch(
      /sum by \(result, reason\) \(rate\(ws_upgrades_total\{result!="accepted"\}/,
    );
  });

  it('explains every audit event auth-service writes, and no other', () => {
    const written = new Set(
      sources
        .filter((f) => f.startsWith('apps/auth-service/'))
        .flatMap((f) =>
          [...readText(f).matchAll(/audit:\s*([^,}\n]+)/g)].flatMap((m) =>
            [...m[1].matchAll(/'([a-z_]+)'/g)].map((q) => q[1]),
          ),
        ),
    );
    for (const required of [
      'ticket_issued',
      'ticket_exchanged',
      'ticket_refused',
      'ticket_replayed',
      'login',
      'login_failed',
      'session_revoked',
    ])
      expect(written).toContain(required);
    const audit = section(runbook, 'Reading an audit trail');
    const table = new Set([...audit.matchAll(/^\| `([a-z_]+)`/gm)].map((m) => m[1]));
    expect([...table].sort()).toEqual([...written].sort());
    for (const field of ['request_id', 'ticket_hash', 'user_id', 'session_id', 'X-Request-Id'])
      expect(audit).toContain(field);
  });

  it('has the sections an operator looks for', () => {
    for (const heading of [
      'Secrets',
      'Deploying',
      'Configuration',
      'Rotating the JWT signing key',
      'Rotating the exchange credential',
      'Scaling',
      'Metrics',
      'Reading an audit trail',
      'When refusals spike',
    ])
      expect(() => section(runbook, heading)).not.toThrow();
    expect(section(runbook, 'Configuration')).toContain('(configuration.md)');
  });
});

describe('docs/architecture.md', () => {
  const architecture = readText('docs/architecture.md');

  it.each([
    'Login',
    'Ticket',
    'Upgrade and exchange',
    'Events across replicas',
    'Renewal and reauth',
    'Revocation',
    'Drain',
  ])('has a Mermaid sequence diagram for %s', (flow) => {
    expect(section(architecture, flow)).toMatch(/```mermaid\n\s*sequenceDiagram\n[\s\S]+?```/);
  });
});

describe('tools/scripts/jwt-signing-key.mjs', () => {
  interface Jwk {
    kty: string;
    crv: string;
    kid: string;
    alg: string;
    d?: string;
    x: string;
    y: string;
  }
  const generate = (...args: string[]) => {
    const run = node(['tools/scripts/jwt-signing-key.mjs', ...args]);
    return { status: run.status, keys: run.status === 0 ? (JSON.parse(run.stdout) as Jwk[]) : [] };
  };

  it('prints a JWT_SIGNING_KEYS value: one private ES256 key with a kid', () => {
    const { status, keys } = generate();
    expect(status).toBe(0);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
    expect(keys[0].kid).toMatch(/^\d{4}-\d{2}-\d{2}-[0-9a-f]{6}$/);
    expect(keys[0].d).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('rotates: a new key first, the existing keys after it, unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-checks-jwk-'));
    try {
      const current = join(dir, 'current.json');
      writeFileSync(current, JSON.stringify(generate('--kid', 'old').keys));
      const rotated = generate('--rotate', current, '--kid', 'new');
      expect(rotated.keys.map((k) => k.kid)).toEqual(['new', 'old']);
      expect(generate('--rotate', current, '--kid', 'old').status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
