import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AgentEvent } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { expectCompletedRun, startWorker } from '../support/agent-client';
import { PASSWORD, startStack, USERS } from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { PYTHON, requirePythonVenv } from './agent-workers';

/**
 * The Python client of the admitone package (python/admitone/client.py)
 * against the real auth-service, two gateways and the TypeScript worker:
 * login, ticket, the subprotocol carrier, typed events, resume elsewhere.
 */
describe('the Python admitone client', () => {
  let redis: TestRedis;
  let auth: ServiceProcess;
  let gateways: ServiceProcess[];

  beforeAll(async () => {
    requirePythonVenv();
    redis = await connectTestRedis();
    const started = await startStack(redis, {}, [{}, {}]);
    auth = started.stack.auth;
    gateways = started.gateways;
    await startWorker(redis, { AGENT_STEP_DELAY_MS: '300' });
  }, 120_000);
  afterAll(async () => {
    await stopAllServices();
    await redis.cleanup();
  });

  it('logs in, connects with a ticket, iterates a run, resumes on another gateway, reports refusals', async () => {
    const child = spawn(PYTHON, [join(__dirname, 'python-client.py')], {
      env: {
        PATH: process.env['PATH'],
        AUTH_URL: auth.url,
        GATEWAY_URLS: gateways.map((g) => g.url).join(','),
        EMAIL: USERS[2],
        PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`python-client.py exited with ${code}:\n${err}`);
    const report = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      established: Record<string, unknown>;
      golden: AgentEvent[];
      resumed: { before: AgentEvent[]; after: AgentEvent[] };
      bad_login: { status: number; error: string } | null;
      reused_ticket: { status: number; error: string; reason: string } | null;
    };
    expect(report.established).toMatchObject({
      type: 'connection_established',
      protocol: 'agent.v1',
    });
    expectCompletedRun(report.golden);
    expect(report.golden[4]).toMatchObject({ result: '6 * 7 = 42' });
    const all = [...report.resumed.before, ...report.resumed.after];
    expect(report.resumed.before.map((e) => e.event_id)).toEqual([1, 2]);
    expectCompletedRun(all);
    expect(report.bad_login).toEqual({ status: 401, error: 'invalid_credentials' });
    expect(report.reused_ticket).toEqual({
      status: 403,
      error: 'ticket_invalid',
      reason: 'already_used',
    });
  });
});
