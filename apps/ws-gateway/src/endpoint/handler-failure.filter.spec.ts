import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Metrics, Readiness } from '@admitone/service-runtime';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { GatewayConfigSchema } from '../config/gateway-config';
import { ConnectionRegistry } from '../connections/connection-registry';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { HandlerFailureFilter } from './handler-failure.filter';

describe('HandlerFailureFilter', () => {
  jest.setTimeout(20_000);

  it('answers a handler that threw with an unavailable error carrying the message ref', async () => {
    const registry = new ConnectionRegistry(
      GatewayConfigSchema.parse({}),
      pino({ level: 'silent' }),
      new GatewayMetrics(new Metrics('ws-gateway-test'), new Readiness()),
    );
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const accepted = new Promise<WebSocket>((r) => server.once('connection', r));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client.on('error', () => undefined);
    const messages: { type: string; code?: string; ref?: string }[] = [];
    const answered = new Promise<void>((resolve) =>
      client.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        messages.push(m);
        if (m.type === 'error') resolve();
      }),
    );
    try {
      const [ws] = await Promise.all([accepted, new Promise((r) => client.once('open', r))]);
      const slot = registry.reserveSlot('u1');
      if (!slot) throw new Error('no slot');
      const connection = registry.open(ws, {
        connection_id: randomUUID(),
        request_id: randomUUID(),
        remote_address: '127.0.0.1',
        user: { id: 'u1', email: 'u1@example.com', roles: [] } as never,
        session_id: randomUUID(),
        auth_expires_at: Date.now() + 3_600_000,
        slot,
      });
      // What Nest's ws proxy hands a filter: [client, data, pattern].
      const host = new ExecutionContextHost([
        connection,
        { type: 'cancel', run_id: randomUUID(), client_msg_id: 'm-1' },
        'cancel',
      ]);
      host.setType('ws');
      new HandlerFailureFilter().catch(new Error('bus went away'), host);
      await answered;
      expect(messages.map((m) => m.type)).toEqual(['connection_established', 'error']);
      expect(messages[1]).toMatchObject({ code: 'unavailable', ref: 'm-1' });
    } finally {
      client.terminate();
      registry.onModuleDestroy();
      await new Promise((r) => server.close(r));
    }
  });
});
