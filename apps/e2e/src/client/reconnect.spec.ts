import { parseServerMessage } from '@admitone/agent-events';
import type { AgentClient } from '@admitone/client';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import WebSocket from 'ws';
import { USERS } from '../support/gateway-stack';
import {
  AppSession,
  ClientStack,
  sdkClient,
  serviceLogs,
  startRedisStack,
} from '../support/client-stack';
import { stopAllServices } from '../support/service-process';

/**
 * A gateway restarted in the middle of a run (SIGTERM: drain closes the
 * socket with 1012, upgrades are refused, then nothing listens until the
 * new process is up on the same port). The run lives on in the
 * agent-worker and Redis; the SDK reconnects with fresh tickets, resumes
 * the run from the last event it delivered, and the app sees every
 * event_id exactly once. Frames are also recorded below the SDK, so the
 * test can tell what the wire carried from what the app was given.
 */
describe('@admitone/client: reconnect and resume across a gateway restart', () => {
  let redis: TestRedis;
  let stack: ClientStack;
  let client: AgentClient | undefined;
  const wire: Array<{ socket: number; run_id?: string; event_id?: number; type: string }> = [];
  let sockets = 0;

  /** Node's `ws`, recording every frame each socket received. */
  class RecordingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      const socket = ++sockets;
      this.on('message', (data) => {
        const parsed = parseServerMessage(data);
        if (!parsed.ok) return;
        const m = parsed.message;
        wire.push({
          socket,
          type: m.type,
          ...('run_id' in m ? { run_id: m.run_id, event_id: m.event_id } : {}),
        });
      });
    }
  }

  beforeAll(async () => {
    redis = await connectTestRedis();
    // Slow steps: the run takes about 4 s, long enough to restart the gateway in its middle.
    stack = await startRedisStack(redis, { worker: { AGENT_STEP_DELAY_MS: '1000' } });
  });
  afterAll(async () => {
    client?.close();
    await stopAllServices();
    await redis.cleanup();
  });

  it('reconnects, resumes the run in flight and delivers each event_id exactly once', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[0]);
    const sdk = sdkClient(stack, session, { WebSocket: RecordingWebSocket });
    client = sdk.client;
    const { recorder } = sdk;
    const results: string[] = [];
    client.on('agent_completed', (e) => results.push(e.result));
    const first = await client.connect();

    client.chat('What is 6 * 7?');
    await recorder.until(
      () => recorder.events.some((e) => e.type === 'agent_thinking'),
      'agent_thinking',
    );
    const runId = recorder.events[0].run_id;
    expect(client.inFlightRuns()).toEqual([{ runId, lastEventId: 2 }]);

    const restarted = stack.restartGateway();
    await recorder.until(() => client?.state === 'reconnecting', 'the drop');
    expect(recorder.states.find((s) => s.state === 'reconnecting')).toMatchObject({
      attempt: 0,
      reason: {
        reason: 'service_restart',
        code: 1012,
        action: 'reconnect_now',
        willReconnect: true,
      },
    });
    await restarted;

    await recorder.until(() => results.length === 1, 'agent_completed after the restart', 20_000);
    expect(results[0]).toContain('42');
    expect(recorder.eventsOf(runId).map((e) => [e.type, e.event_id])).toEqual([
      ['agent_started', 1],
      ['agent_thinking', 2],
      ['tool_executing', 3],
      ['tool_completed', 4],
      ['agent_completed', 5],
    ]);
    expect(client.state).toBe('open');
    expect(client.connection?.connection_id).not.toBe(first.connection_id);
    expect(client.inFlightRuns()).toEqual([]);

    // The new socket asked for the run after event 2 and got the rest from the gateway.
    expect(serviceLogs(stack.gateway, 'upgrade accepted').length).toBe(1);
    const lastSocket = Math.max(...wire.map((w) => w.socket));
    const resent = wire.filter((w) => w.socket === lastSocket && w.run_id === runId);
    expect(resent.map((w) => w.event_id)).toEqual(expect.arrayContaining([3, 4, 5]));
    // Whatever the wire repeated, the app got each event once.
    const delivered = recorder.events.map((e) => `${e.run_id}#${e.event_id}`);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(wire.filter((w) => w.run_id === runId).length).toBeGreaterThanOrEqual(5);

    // Every attempt used a fresh ticket; none of the secrets reached the SDK's log.
    expect(session.handedOut.length).toBeGreaterThanOrEqual(2);
    for (const line of recorder.logLines)
      for (const token of session.handedOut) expect(line).not.toContain(token);
  }, 60_000);
});
