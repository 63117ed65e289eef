import { spawn } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { eventually, Service, startService, stopAll } from './support/service-process';
import { workspaceRoot } from './support/workspace';

/**
 * Logs a person can read (issue 14): in development `npm start` pipes each
 * service's JSON lines through tools/scripts/dev-logs.mjs, one readable line
 * per event; Nest's module and route start-up lines are at debug, so the
 * terminal at info shows requests and refusals. Production output stays JSON.
 */
const NEST_CHATTER = [
  /Starting Nest application/,
  /dependencies initialized/,
  /Mapped \{/,
  /Controller \{/,
  /subscribed to the "/,
  /Nest application successfully started/,
];

function refusedUpgrade(gatewayUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gatewayUrl.replace('http', 'ws')}/ws?ticket=${'A'.repeat(43)}`);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', reject);
  });
}

afterAll(stopAll);

describe('development logs, through tools/scripts/dev-logs.mjs', () => {
  let auth: Service;
  let gateway: Service;
  let pretty = '';

  beforeAll(async () => {
    auth = await startService('auth-service', {});
    gateway = await startService('ws-gateway', { AUTH_SERVICE_URL: auth.url });
    expect(await refusedUpgrade(gateway.url)).toBe(403);
    await eventually(
      'both services log the refused exchange',
      async () =>
        gateway.output().includes('upgrade refused') && auth.output().includes('request completed'),
    );
    // What `npm start` prints: every service's stdout through the formatter.
    const formatter = spawn(process.execPath, [join(workspaceRoot, 'tools/scripts/dev-logs.mjs')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    formatter.stdout.on('data', (c: Buffer) => (pretty += c.toString()));
    const done = new Promise((r) => formatter.once('exit', r));
    formatter.stdin.end(auth.output() + gateway.output());
    await done;
  }, 120_000);

  it('prints one readable line per event, not JSON', () => {
    const lines = pretty.split('\n').filter(Boolean);
    const json = gateway
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThanOrEqual(json.length);
    for (const line of lines)
      expect(line).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \((auth-service|ws-gateway)\): \S/,
      );
  });

  it('shows a refused upgrade as one line that names its result and reason', () => {
    const refused = pretty.split('\n').filter((l) => l.includes('upgrade refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^\[[\d:.]+\] INFO \(ws-gateway\): upgrade refused \{.*\}$/);
    expect(refused[0]).toContain('"result":"ticket_invalid"');
    expect(refused[0]).toContain('"reason":"unknown_or_expired"');
  });

  it('shows requests, and no Nest module or route start-up line at info', () => {
    expect(pretty).toMatch(/INFO \(auth-service\): request completed .*"status_code":403/);
    for (const chatter of NEST_CHATTER) expect(pretty).not.toMatch(chatter);
  });
});

describe('the services themselves (production output)', () => {
  it('write JSON lines, with Nest start-up lines at debug rather than dropped', async () => {
    const gateway = await startService('ws-gateway', { LOG_LEVEL: 'debug' }, '/health/live');
    const lines = gateway
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; context?: string; msg: string });
    const chatter = lines.filter((l) => NEST_CHATTER.some((c) => c.test(l.msg)));
    expect(chatter.length).toBeGreaterThan(5);
    expect(new Set(chatter.map((l) => l.level))).toEqual(new Set(['debug']));
    expect(chatter.map((l) => l.context)).toContain('RoutesResolver');
  }, 60_000);
});
