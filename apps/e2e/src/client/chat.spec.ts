import type { AgentClient, TicketCarrier } from '@admitone/client';
import { USERS } from '../support/gateway-stack';
import {
  AppSession,
  ClientStack,
  sdkClient,
  serviceLogs,
  sleep,
  startMemoryStack,
} from '../support/client-stack';
import { eventually, stopAllServices } from '../support/service-process';

/**
 * @admitone/client against the real auth-service and ws-gateway (in-memory
 * mode: the gateway runs the reference agent in-process), on Node's `ws`.
 */
describe('@admitone/client: connect and chat', () => {
  let stack: ClientStack;
  const clients: AgentClient[] = [];

  beforeAll(async () => {
    stack = await startMemoryStack({ gateway: { AGENT_STEP_DELAY_MS: '100' } });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await stopAllServices();
  });

  it.each<TicketCarrier>(['subprotocol', 'query'])(
    'connects with the %s carrier and answers "What is 6 * 7?" with five typed events and 42',
    async (carrier) => {
      const session = await AppSession.login(stack.authUrl, USERS[0]);
      const { client, recorder } = sdkClient(stack, session, { carrier });
      clients.push(client);
      const results: string[] = [];
      const outputs: unknown[] = [];
      client.on('agent_completed', (e) => results.push(e.result));
      client.on('tool_completed', (e) => outputs.push(e.output));

      const established = await client.connect();
      expect(established).toMatchObject({ protocol: 'agent.v1', connection_ready: true });
      expect(client.state).toBe('open');
      expect(recorder.stateNames()).toEqual(['connecting', 'open']);

      const clientMsgId = client.chat('What is 6 * 7?');
      expect(clientMsgId).toMatch(/.+/);
      await recorder.until(() => results.length === 1, 'agent_completed');

      expect(recorder.events.map((e) => [e.type, e.event_id])).toEqual([
        ['agent_started', 1],
        ['agent_thinking', 2],
        ['tool_executing', 3],
        ['tool_completed', 4],
        ['agent_completed', 5],
      ]);
      expect(new Set(recorder.events.map((e) => e.run_id)).size).toBe(1);
      expect(outputs).toEqual([{ value: 42 }]);
      expect(results[0]).toContain('42');
      expect(client.inFlightRuns()).toEqual([]);

      // The gateway saw the carrier the SDK was asked to use, and agent.v1 was selected.
      expect(
        serviceLogs(stack.gateway, 'upgrade accepted', {
          connection_id: established.connection_id,
          protocol: 'agent.v1',
        }),
      ).toHaveLength(1);
      for (const line of recorder.logLines) {
        for (const token of session.handedOut) expect(line).not.toContain(token);
      }
      client.close();
    },
  );

  it('carries a thread_id and cancels a run in flight', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[1]);
    const { client, recorder } = sdkClient(stack, session);
    clients.push(client);
    await client.connect();
    client.on('agent_started', (e) => client.cancel(e.run_id));
    client.chat('What is 6 * 7?', { threadId: 'thread-cancel' });
    await recorder.until(
      () => recorder.events.some((e) => e.type === 'agent_failed'),
      'agent_failed',
    );
    const last = recorder.events.at(-1);
    expect(last).toMatchObject({
      type: 'agent_failed',
      error: 'cancelled',
      thread_id: 'thread-cancel',
    });
    expect(recorder.events.filter((e) => e.type === 'agent_completed')).toEqual([]);
    client.close();
  });

  it('close() closes with 1000 and never reconnects', async () => {
    const session = await AppSession.login(stack.authUrl, USERS[2]);
    const { client, recorder } = sdkClient(stack, session);
    clients.push(client);
    const { connection_id } = await client.connect();
    await eventually(
      () => serviceLogs(stack.gateway, 'upgrade accepted', { connection_id }).length === 1,
      'the gateway to log the upgrade',
    );
    const accepted = serviceLogs(stack.gateway, 'upgrade accepted').length;

    client.close();
    expect(client.state).toBe('closed');
    expect(recorder.states.at(-1)).toMatchObject({
      state: 'closed',
      reason: { reason: 'closed_by_client', code: 1000, willReconnect: false },
    });
    await eventually(
      () => serviceLogs(stack.gateway, 'connection closed', { connection_id }).length === 1,
      'the gateway to log the close',
    );
    await sleep(1500);
    // The gateway logged this connection's close with 1000, and no upgrade came after it.
    const closes = stack.gateway
      .logLines()
      .filter((l) => l['msg'] === 'connection closed' && l['connection_id'] === connection_id);
    expect(closes.map((l) => l['close_code'])).toEqual([1000]);
    expect(serviceLogs(stack.gateway, 'upgrade accepted')).toHaveLength(accepted);
    expect(recorder.stateNames().filter((s) => s === 'reconnecting')).toEqual([]);
    await expect(client.connect()).rejects.toMatchObject({ code: 'closed' });
    expect(() => client.chat('anyone?')).toThrow(expect.objectContaining({ code: 'not_open' }));
  });
});
