import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AgentSocket, closeSockets, startWorker } from '../support/agent-client';
import { issueTicket, login } from '../support/auth-client';
import { Env, PASSWORD, startStack, USERS } from '../support/gateway-stack';
import { OtlpReceiver, otlpEnv, ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Issue 14: one upgrade gives one trace across both real services, exported
 * over OTLP/HTTP (JSON) to a receiver inside the test. The gateway's
 * `ws.upgrade` span is the parent of the exchange's client span, which is the
 * parent of auth-service's server span, under which its Redis calls sit. A
 * chat's `agent.chat` span is the parent of the worker's `agent.run`. No
 * attribute carries a ticket, a token or the message text; the log lines of
 * both services carry the trace id beside the request id. Without
 * OTEL_EXPORTER_OTLP_ENDPOINT nothing is exported and the SDK is not loaded
 * (a preloaded module lists every module the process loaded when it exits).
 */
const SPAN_KIND = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
const PRELOAD = join(__dirname, '../support/loaded-modules.cjs');
const SDK_MODULE = `${join('node_modules', '@opentelemetry', 'sdk-node')}`;

function moduleRecorder(name: string): { env: Env; loaded: () => string[] } {
  const file = join(tmpdir(), `loaded-${name}-${process.pid}-${Date.now()}.txt`);
  return {
    env: { NODE_OPTIONS: `--require ${PRELOAD}`, LOADED_MODULES_FILE: file },
    loaded: () => readFileSync(file, 'utf8').split('\n'),
  };
}

function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  let current = spans.find((s) => s.spanId === span.parentSpanId);
  while (current) {
    chain.push(current);
    const parentId = current.parentSpanId;
    current = spans.find((s) => s.spanId === parentId);
  }
  return chain;
}

function attributeValues(spans: ReceivedSpan[]): string[] {
  return spans.flatMap((s) => Object.values(s.attributes).map((v) => JSON.stringify(v)));
}

describe('tracing across ws-gateway, auth-service and the agent worker', () => {
  let redis: TestRedis;
  let receiver: OtlpReceiver;
  let auth: ServiceProcess;
  let gateway: ServiceProcess;
  const authModules = moduleRecorder('auth-traced');
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    receiver = await startOtlpReceiver();
    const otel = otlpEnv(receiver);
    ({
      stack: { auth },
      gateways: [gateway],
    } = await startStack(redis, { ...otel, ...authModules.env }, [otel]));
    await startWorker({ url: redis.url, prefix: redis.prefix }, otel);
  }, 120_000);
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await receiver.close();
    await redis.cleanup();
  });

  it('links the upgrade, the exchange, auth-service and its Redis script in one trace, with no secret in any attribute', async () => {
    const tokens = await login(auth.url, USERS[0], PASSWORD);
    const ticket = await issueTicket(auth.url, tokens.access_token);
    const socket = await AgentSocket.open(gateway.url, ticket, 'alice');
    sockets.push(socket);
    const text = `trace me, please ${Date.now()}`;
    socket.chat(text);
    const runId = await socket.nextRun([], 'the chat run', 20_000);
    await socket.until(() => socket.finished(runId), 'the end of the run', 20_000);

    const spans = receiver.spans;
    const upgradeSpan = () =>
      spans.find(
        (s) =>
          s.service === 'ws-gateway' &&
          s.name === 'ws.upgrade' &&
          s.attributes['admitone.upgrade.result'] === 'accepted',
      );
    await eventually(() => upgradeSpan() !== undefined, 'the gateway upgrade span', 15_000);
    const upgrade = upgradeSpan() as ReceivedSpan;
    const inTrace = () => spans.filter((s) => s.traceId === upgrade.traceId);
    // The upgrade's children are the rate limiter's Redis call and the exchange.
    const exchangeSpan = () =>
      inTrace().find(
        (s) =>
          s.parentSpanId === upgrade.spanId &&
          s.kind === SPAN_KIND.CLIENT &&
          /\/internal\/tickets\/exchange$/.test(String(s.attributes['url.full'])),
      );
    const serverSpan = () =>
      inTrace().find(
        (s) =>
          s.service === 'auth-service' &&
          s.kind === SPAN_KIND.SERVER &&
          s.parentSpanId === exchangeSpan()?.spanId,
      );
    const redisSpans = () =>
      inTrace().filter(
        (s) =>
          s.service === 'auth-service' &&
          s.kind === SPAN_KIND.CLIENT &&
          ancestors(s, inTrace()).some((a) => a.spanId === serverSpan()?.spanId),
      );
    await eventually(
      () => redisSpans().some((s) => /^eval/i.test(s.name)),
      'auth-service Redis script span under its server span',
      15_000,
    );

    const exchange = exchangeSpan() as ReceivedSpan;
    expect(exchange).toMatchObject({ service: 'ws-gateway', name: 'POST' });
    const server = serverSpan() as ReceivedSpan;
    expect(server.attributes['http.route']).toMatch(/tickets\/exchange/);
    expect(upgrade.parentSpanId).toBe('');
    expect(upgrade.kind).toBe(SPAN_KIND.SERVER);
    const script = redisSpans().find((s) => /^eval/i.test(s.name)) as ReceivedSpan;
    expect(script.traceId).toBe(upgrade.traceId);
    // The Redis statement is the command name only: no ticket hash, no key.
    expect(script.attributes['db.query.text']).toMatch(/^eval(sha)?$/i);

    // The chat's trace reaches the worker: agent.chat (gateway) -> agent.run (worker) -> its Redis writes.
    const runSpan = () =>
      spans.find(
        (s) =>
          s.service === 'agent-worker' &&
          s.name === 'agent.run' &&
          s.attributes['admitone.run_id'] === runId,
      );
    await eventually(() => runSpan() !== undefined, 'the worker run span', 15_000);
    const run = runSpan() as ReceivedSpan;
    const chat = spans.find((s) => s.spanId === run.parentSpanId) as ReceivedSpan;
    expect(chat).toMatchObject({
      service: 'ws-gateway',
      name: 'agent.chat',
      kind: SPAN_KIND.PRODUCER,
      traceId: run.traceId,
    });
    expect(run.kind).toBe(SPAN_KIND.CONSUMER);
    await eventually(
      () => spans.some((s) => s.service === 'agent-worker' && s.parentSpanId === run.spanId),
      'the run events written under the run span',
      15_000,
    );

    // A plain HTTP request with a ticket in its query is traced without the query.
    const plain = await fetch(`${gateway.url}/ws?ticket=${encodeURIComponent(ticket)}`);
    await plain.body?.cancel();
    await eventually(
      () =>
        spans.some(
          (s) =>
            s.service === 'ws-gateway' &&
            s.kind === SPAN_KIND.SERVER &&
            s.name !== 'ws.upgrade' &&
            s.attributes['url.path'] === '/ws',
        ),
      'the plain request to /ws traced',
      15_000,
    );

    // No secret and no message text in any attribute of any span.
    const values = attributeValues(spans);
    expect(values.length).toBeGreaterThan(0);
    for (const secret of [ticket, tokens.access_token, tokens.refresh_token, text])
      expect(values.filter((v) => v.includes(secret))).toEqual([]);
    expect(values.filter((v) => v.includes('ticket='))).toEqual([]);

    // Log lines carry the trace id beside the request id, on both sides of the exchange.
    const requestId = upgrade.attributes['admitone.request_id'];
    const traced = (service: ServiceProcess) =>
      service
        .logLines()
        .filter((l) => l['request_id'] === requestId && l['trace_id'] === upgrade.traceId);
    await eventually(
      () => traced(gateway).length > 0 && traced(auth).length > 0,
      'log lines with the trace id',
      10_000,
    );
    expect(traced(gateway).map((l) => l['msg'])).toContain('upgrade accepted');
  }, 120_000);

  it('loads the SDK when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    await auth.stop();
    expect(authModules.loaded().filter((m) => m.includes(SDK_MODULE)).length).toBeGreaterThan(0);
  }, 30_000);
});

describe('tracing off', () => {
  let redis: TestRedis;
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    redis = await connectTestRedis();
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await stopAllServices();
    await receiver.close();
    await redis.cleanup();
  });

  it('exports nothing and never loads the SDK when OTEL_EXPORTER_OTLP_ENDPOINT is unset', async () => {
    const authModules = moduleRecorder('auth-untraced');
    const gatewayModules = moduleRecorder('gateway-untraced');
    // Everything but the endpoint: without it the SDK must stay out.
    const quiet = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' };
    const {
      stack: { auth },
      gateways: [gateway],
    } = await startStack(redis, { ...quiet, ...authModules.env }, [
      { ...quiet, ...gatewayModules.env },
    ]);
    const tokens = await login(auth.url, USERS[1], PASSWORD);
    const socket = await AgentSocket.open(
      gateway.url,
      await issueTicket(auth.url, tokens.access_token),
      'bob',
    );
    socket.close();
    await gateway.stop();
    await auth.stop();

    for (const loaded of [authModules.loaded(), gatewayModules.loaded()]) {
      expect(loaded.length).toBeGreaterThan(10);
      expect(loaded.filter((m) => m.includes('@opentelemetry/sdk-'))).toEqual([]);
      expect(loaded.filter((m) => m.includes('@opentelemetry/instrumentation'))).toEqual([]);
    }
    expect(receiver.requests).toEqual([]);
    expect([...gateway.logLines(), ...auth.logLines()].filter((l) => 'trace_id' in l)).toEqual([]);
  }, 120_000);
});
