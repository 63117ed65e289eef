import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import WebSocket from 'ws';
import { parseYamlDocuments, kustomize, ofKind } from './support/manifests';
import { freePort } from './support/container-process';
import { familyOf, parseExposition, promqlUses, ScrapedFamily } from './support/promql';
import { eventually, Service, startService, stopAll, stopService } from './support/service-process';
import { readText, workspaceRoot } from './support/workspace';

/**
 * k8s/monitoring, checked against the code: the alert rules pass promtool and
 * their unit tests fire and clear every alert; the PrometheusRule holds the
 * same groups; every runbook link lands on a section that exists; and every
 * metric a dashboard or a rule reads is one the built services really expose,
 * with the labels it uses (scraped from the running processes after traffic).
 */
const MONITORING = 'k8s/monitoring';
const RULES_FILE = `${MONITORING}/alerts.rules.yaml`;
const RULES_TESTS = `${MONITORING}/tests/alerts.test.yaml`;
const RUNBOOK_BASE = 'https://admitone.example.com/docs/runbook.md#';
const DASHBOARDS = readdirSync(join(workspaceRoot, MONITORING, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .sort();

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroups {
  groups: { name: string; rules: Rule[] }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string }[] };
}

const yamlOf = <T>(path: string): T => parseYamlDocuments(readText(path), path)[0] as T;
const rules = (): Rule[] => yamlOf<RuleGroups>(RULES_FILE).groups.flatMap((g) => g.rules);
const dashboard = (file: string): Dashboard =>
  JSON.parse(readText(`${MONITORING}/dashboards/${file}`)) as Dashboard;
const promtool = (...args: string[]) =>
  spawnSync('promtool', args, { cwd: workspaceRoot, encoding: 'utf8' });

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1 -2 for repeats. */
function markdownAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n ? `${slug}-${n}` : slug);
  }
  return anchors;
}

describe('alert rules (k8s/monitoring/alerts.rules.yaml)', () => {
  it('pass promtool check rules', () => {
    const run = promtool('check', 'rules', RULES_FILE);
    expect(run.error).toBeUndefined();
    expect({ status: run.status, out: run.stdout + run.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining(`SUCCESS: ${rules().length} rules found`),
    });
  });

  it('cover what the issue asks: auth failures, 503s, exchange p99, breaker, Redis, no ready replica, reconnect storm', () => {
    const byName = new Map(rules().map((r) => [r.alert, r]));
    expect([...byName.keys()].sort()).toEqual(
      [
        'AdmitOneExchangeBreakerOpen',
        'AdmitOneExchangeLatencyHigh',
        'AdmitOneNoReadyReplicas',
        'AdmitOneReconnectStorm',
        'AdmitOneRedisUnavailable',
        'AdmitOneReplicaNotReady',
        'AdmitOneUpgradeAuthFailureRatio',
        'AdmitOneUpgradeUnavailableRatio',
      ].sort(),
    );
    expect(byName.get('AdmitOneUpgradeAuthFailureRatio')).toMatchObject({
      expr: expect.stringMatching(/> 0\.01\s*$/),
      for: '10m',
    });
    expect(byName.get('AdmitOneExchangeLatencyHigh')?.expr).toMatch(
      /histogram_quantile\(0\.99,[\s\S]*> 0\.25\s*$/,
    );
    for (const rule of rules())
      expect({ alert: rule.alert, severity: rule.labels?.['severity'] }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
  });

  it('fire and then clear every alert in promtool unit tests on synthetic series', () => {
    const run = promtool('test', 'rules', RULES_TESTS);
    expect(run.error).toBeUndefined();
    expect({ status: run.status, out: run.stdout + run.stderr }).toEqual({
      status: 0,
      out: expect.stringContaining('SUCCESS'),
    });
    // Each alert is expected firing at some time and gone at a later one.
    const tests = yamlOf<{
      rule_files: string[];
      tests: {
        alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[];
      }[];
    }>(RULES_TESTS);
    expect(tests.rule_files).toEqual(['../alerts.rules.yaml']);
    const minutes = (t: string) => Number(/^(\d+)m$/.exec(t)?.[1] ?? NaN);
    const checks = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of rules().map((r) => r.alert)) {
      const mine = checks.filter((c) => c.alertname === alert);
      const fired = mine.filter((c) => c.exp_alerts.length > 0).map((c) => minutes(c.eval_time));
      const cleared = mine
        .filter((c) => c.exp_alerts.length === 0)
        .map((c) => minutes(c.eval_time));
      expect({ alert, firesThenClears: cleared.some((c) => fired.some((f) => c > f)) }).toEqual({
        alert,
        firesThenClears: true,
      });
    }
  });

  it('are shipped with the same groups as a PrometheusRule, generated from them', () => {
    const [rule] = parseYamlDocuments(
      readText(`${MONITORING}/prometheus-rule.yaml`),
      'prometheus-rule.yaml',
    ) as { apiVersion: string; kind: string; spec: RuleGroups }[];
    expect({ apiVersion: rule.apiVersion, kind: rule.kind }).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
    });
    expect(rule.spec).toEqual(yamlOf<RuleGroups>(RULES_FILE));
    const check = spawnSync(
      process.execPath,
      [join(workspaceRoot, 'tools/scripts/prometheus-rule.mjs'), '--check'],
      { encoding: 'utf8' },
    );
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('link every alert to a section of docs/runbook.md that exists', () => {
    const anchors = markdownAnchors(readText('docs/runbook.md'));
    for (const rule of rules()) {
      const url = rule.annotations?.['runbook_url'] ?? '';
      expect({ alert: rule.alert, url }).toEqual({
        alert: rule.alert,
        url: expect.stringMatching(new RegExp(`^${RUNBOOK_BASE.replace(/[.?]/g, '\\$&')}\\S+$`)),
      });
      const anchor = url.slice(RUNBOOK_BASE.length);
      expect({ alert: rule.alert, anchor, exists: anchors.has(anchor) }).toEqual({
        alert: rule.alert,
        anchor,
        exists: true,
      });
    }
  });
});

describe('Grafana dashboards (k8s/monitoring/dashboards)', () => {
  it('are one overview and one per service', () => {
    expect(DASHBOARDS).toEqual(['auth-service.json', 'overview.json', 'ws-gateway.json']);
  });

  it.each(DASHBOARDS)(
    '%s has a unique uid and queries Prometheus through its datasource variable',
    (file) => {
      const d = dashboard(file);
      expect(d.templating.list).toContainEqual(
        expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
      );
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      const queried = d.panels.filter((p) => p.type !== 'text');
      expect(queried.length).toBeGreaterThan(5);
      for (const panel of queried) {
        expect({ panel: panel.title, ds: panel.datasource?.uid }).toEqual({
          panel: panel.title,
          ds: '${datasource}',
        });
        expect({ panel: panel.title, targets: (panel.targets?.length ?? 0) > 0 }).toEqual({
          panel: panel.title,
          targets: true,
        });
        for (const t of panel.targets ?? []) expect(t.expr.trim()).not.toBe('');
      }
      const uids = DASHBOARDS.map((f) => dashboard(f).uid);
      expect(new Set(uids).size).toBe(uids.length);
    },
  );

  it('show what the issue asks: upgrades by outcome and reason, exchange p50/p99, tickets, connections per replica, closes by code, drain, Redis errors, breaker', () => {
    const exprs = DASHBOARDS.flatMap((f) =>
      dashboard(f).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ).join('\n');
    for (const needed of [
      /sum by \(result\) \(rate\(ws_upgrades_total/,
      /sum by \(reason\) \(rate\(ws_upgrades_total/,
      /histogram_quantile\(0\.5, sum by \(le\) \(rate\(ws_ticket_exchange_duration_seconds_bucket/,
      /histogram_quantile\(0\.99, sum by \(le\) \(rate\(ws_ticket_exchange_duration_seconds_bucket/,
      /auth_tickets_issued_total/,
      /sum by \(instance\) \(ws_active_connections\)/,
      /sum by \(code\) \(rate\(ws_closes_total/,
      /ws_draining/,
      /redis_errors_total/,
      /ws_exchange_breaker_state/,
    ])
      expect(exprs).toMatch(needed);
  });
});

describe('k8s/monitoring as a kustomize component', () => {
  it('adds the PrometheusRule and a dashboards ConfigMap for the Grafana sidecar to a build', () => {
    const objects = kustomize('k8s/base', [MONITORING]);
    expect(ofKind(objects, 'PrometheusRule').map((o) => o.metadata.name)).toEqual([
      'admitone-alerts',
    ]);
    const dashboards = ofKind<{ data: Record<string, string> }>(objects, 'ConfigMap').find(
      (c) => c.metadata.labels?.['grafana_dashboard'] === '1',
    );
    expect(Object.keys(dashboards?.data ?? {}).sort()).toEqual(DASHBOARDS);
    for (const file of DASHBOARDS)
      expect(JSON.parse(dashboards?.data[file] ?? '{}')).toEqual(dashboard(file));
  });
});

// ------------------------------------------------------- against the code

afterAll(stopAll);

async function scrape(service: Service): Promise<string> {
  const res = await fetch(`${service.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function sampleValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function postJson(url: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/** Opens a socket with the ticket; resolves with the socket, or the refusal's HTTP status. */
function upgrade(gatewayUrl: string, ticket: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `${gatewayUrl.replace('http', 'ws')}/ws?ticket=${encodeURIComponent(ticket)}`,
    );
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const DEV_LOGIN = { email: 'demo@example.com', password: 'demo-password' };
/** Labels Prometheus adds at scrape time, not the code. */
const SCRAPE_LABELS = ['job', 'instance'];
/** kube-state-metrics (v1 and v2): not ours, so listed here with the labels it exports. */
const KUBE_STATE_METRICS: Record<string, string[]> = {
  kube_deployment_status_replicas_available: ['namespace', 'deployment'],
  kube_deployment_spec_replicas: ['namespace', 'deployment'],
  kube_pod_status_ready: ['namespace', 'pod', 'uid', 'condition'],
};

describe('metrics read by the dashboards and the rules, against the running services', () => {
  let redis: TestRedis;
  let auth: Service;
  let gateway: Service;
  let registered: Map<string, ScrapedFamily>;

  beforeAll(async () => {
    redis = await connectTestRedis();
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix };
    auth = await startService('auth-service', env);
    gateway = await startService('ws-gateway', { ...env, AUTH_SERVICE_URL: auth.url });

    // Traffic that makes every labelled series the dashboards read appear.
    expect(
      (await postJson(`${auth.url}/auth/login`, { ...DEV_LOGIN, password: 'wrong' })).status,
    ).toBe(401);
    const login = await postJson(`${auth.url}/auth/login`, DEV_LOGIN);
    expect(login.status).toBe(200);
    const refreshed = await postJson(`${auth.url}/auth/refresh`, {
      refresh_token: login.body['refresh_token'],
    });
    expect(refreshed.status).toBe(200);
    const token = String(refreshed.body['access_token']);
    const ticket = async () =>
      String((await postJson(`${auth.url}/websocket/ticket`, {}, token)).body['ticket']);

    const used = await ticket();
    const socket = await upgrade(gateway.url, used);
    if (typeof socket === 'number') throw new Error(`upgrade refused with ${socket}`);
    socket.send(JSON.stringify({ type: 'ping' }));
    socket.send('not json');
    await new Promise((r) => socket.once('close', r).close(1000));
    expect(await upgrade(gateway.url, used)).toBe(403); // already_used
    expect(await upgrade(gateway.url, 'A'.repeat(43))).toBe(403); // unknown_or_expired
    expect((await postJson(`${auth.url}/auth/logout`, {}, token)).status).toBe(204);

    // Closes are counted when the server sees them: wait for them.
    await eventually('the gateway counts the close', async () =>
      (await scrape(gateway)).includes('ws_closes_total{'),
    );
    registered = new Map([
      ...parseExposition(await scrape(auth)),
      ...parseExposition(await scrape(gateway)),
    ]);
  }, 120_000);

  afterAll(async () => {
    await redis?.cleanup();
  });

  const sources = (): { source: string; expr: string }[] => [
    ...rules().map((r) => ({ source: `${RULES_FILE} ${r.alert}`, expr: r.expr })),
    ...DASHBOARDS.flatMap((f) =>
      dashboard(f).panels.flatMap((p) =>
        (p.targets ?? []).map((t) => ({ source: `${f} "${p.title}"`, expr: t.expr })),
      ),
    ),
  ];

  it('uses only metric names the services register', () => {
    for (const { source, expr } of sources())
      for (const { metric } of promqlUses(expr).selectors) {
        const known = familyOf(metric, registered) !== undefined || metric in KUBE_STATE_METRICS;
        expect({ source, metric, known }).toEqual({ source, metric, known: true });
      }
  });

  it('uses only label names those metrics carry', () => {
    for (const { source, expr } of sources()) {
      const uses = promqlUses(expr);
      const labelsOf = (metric: string): string[] => [
        ...SCRAPE_LABELS,
        ...(KUBE_STATE_METRICS[metric] ?? []),
        ...(familyOf(metric, registered)?.labels ?? []),
      ];
      for (const { metric, labels } of uses.selectors)
        for (const label of labels)
          expect({ source, metric, label, carried: labelsOf(metric).includes(label) }).toEqual({
            source,
            metric,
            label,
            carried: true,
          });
      // A label an aggregation or a match names must exist on what it aggregates.
      const available = new Set(uses.selectors.flatMap((s) => labelsOf(s.metric)));
      for (const label of uses.groupingLabels)
        expect({ source, label, carried: available.has(label) }).toEqual({
          source,
          label,
          carried: true,
        });
    }
  });

  it('reads only series the traffic really produced, so the label check saw their labels', () => {
    // A labelled metric shows only its # HELP and # TYPE until it is first
    // observed; the traffic above must observe every one the sources read.
    const ours = sources().flatMap(({ source, expr }) =>
      promqlUses(expr)
        .selectors.filter((s) => !(s.metric in KUBE_STATE_METRICS))
        .map(({ metric }) => ({ source, metric })),
    );
    expect(ours.length).toBeGreaterThan(20);
    for (const { source, metric } of ours)
      expect({ source, metric, samples: (familyOf(metric, registered)?.samples ?? 0) > 0 }).toEqual(
        { source, metric, samples: true },
      );
  });
});

describe('the metrics the alerts read move with the failures they name', () => {
  it('redis_up drops to 0 and redis_errors_total grows when the Redis of a service stops', async () => {
    const port = await freePort();
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    try {
      const auth = await startService('auth-service', {
        REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      const before = await scrape(auth);
      expect(sampleValue(before, 'redis_up')).toBe(1);
      expect(sampleValue(before, 'redis_errors_total')).toBe(0);
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await gone;
      await eventually(
        'redis_up is 0',
        async () => sampleValue(await scrape(auth), 'redis_up') === 0,
      );
      await eventually(
        'redis_errors_total counts',
        async () => (sampleValue(await scrape(auth), 'redis_errors_total') ?? 0) > 0,
      );
      await stopService(auth);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  }, 60_000);

  it('ws_exchange_breaker_state reads 2 (open) once exchanges with an unreachable auth-service fail', async () => {
    const deadAuth = `http://127.0.0.1:${await freePort()}`;
    const gateway = await startService(
      'ws-gateway',
      { AUTH_SERVICE_URL: deadAuth, EXCHANGE_TIMEOUT_MS: '500' },
      '/health/live',
    );
    expect(sampleValue(await scrape(gateway), 'ws_exchange_breaker_state')).toBe(0);
    const statuses: number[] = [];
    await eventually('the breaker opens', async () => {
      statuses.push((await upgrade(gateway.url, 'A'.repeat(43))) as number);
      return sampleValue(await scrape(gateway), 'ws_exchange_breaker_state') === 2;
    });
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect(gateway.output()).toContain('circuit open');
    await stopService(gateway);
  }, 60_000);

  it('ws_draining reads 1 while a gateway drains its sockets after SIGTERM', async () => {
    const redis = await connectTestRedis();
    try {
      const env = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix };
      const auth = await startService('auth-service', env);
      const gateway = await startService('ws-gateway', {
        ...env,
        AUTH_SERVICE_URL: auth.url,
        DRAIN_SECONDS: '20',
      });
      expect(sampleValue(await scrape(gateway), 'ws_draining')).toBe(0);
      const token = String(
        (await postJson(`${auth.url}/auth/login`, DEV_LOGIN)).body['access_token'],
      );
      const sockets: WebSocket[] = [];
      for (let i = 0; i < 2; i++) {
        const ticket = String(
          (await postJson(`${auth.url}/websocket/ticket`, {}, token)).body['ticket'],
        );
        const ws = await upgrade(gateway.url, ticket);
        if (typeof ws === 'number') throw new Error(`upgrade refused with ${ws}`);
        sockets.push(ws);
      }
      const closes = sockets.map((ws) => new Promise<number>((r) => ws.once('close', r)));
      gateway.child.kill('SIGTERM');
      // The second socket is closed halfway through the 20 s drain: scrape before.
      await eventually(
        'ws_draining is 1',
        async () => sampleValue(await scrape(gateway), 'ws_draining') === 1,
      );
      expect(await Promise.all(closes)).toEqual([1012, 1012]);
      await stopService(gateway);
      await stopService(auth);
    } finally {
      await redis.cleanup();
    }
  }, 90_000);
});
