import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Metrics, Readiness } from '@admitone/service-runtime';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { GatewayConfig, GatewayConfigSchema } from '../config/gateway-config';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { ConnectionRegistry } from './connection-registry';

/**
 * The per-user cap is a place taken when the guard decides, not a count of
 * registered sockets: decisions that are made before any of their sockets
 * opens must not all pass the cap.
 */
describe('ConnectionRegistry slots', () => {
  const config: GatewayConfig = GatewayConfigSchema.parse({ MAX_CONNECTIONS_PER_USER: '2' });
  let registry: ConnectionRegistry;

  beforeEach(() => {
    registry = new ConnectionRegistry(
      config,
      pino({ level: 'silent' }),
      new GatewayMetrics(new Metrics('ws-gateway-test'), new Readiness()),
    );
  });

  it('gives at most MAX_CONNECTIONS_PER_USER places to decisions made before any socket opens', () => {
    const slots = Array.from({ length: 10 }, () => registry.reserveSlot('u1'));
    expect(slots.filter(Boolean)).toHaveLength(2);
    // Other users have places of their own.
    expect(registry.reserveSlot('u2')).toBeDefined();
  });

  it('gives a released place again, once per release', () => {
    const [a, b] = [registry.reserveSlot('u1'), registry.reserveSlot('u1')];
    expect(registry.reserveSlot('u1')).toBeUndefined();
    a?.release();
    a?.release();
    expect(registry.reserveSlot('u1')).toBeDefined();
    expect(registry.reserveSlot('u1')).toBeUndefined();
    b?.release();
    expect(registry.reserveSlot('u1')).toBeDefined();
  });

  it('turns the place into the open connection, and frees it when the socket closes', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    const accepted = new Promise<WebSocket>((r) => server.once('connection', r));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    try {
      const [ws] = await Promise.all([accepted, new Promise((r) => client.once('open', r))]);
      const slot = registry.reserveSlot('u1');
      expect(slot).toBeDefined();
      if (!slot) throw new Error('no slot');
      registry.open(ws, {
        connection_id: randomUUID(),
        request_id: randomUUID(),
        remote_address: '127.0.0.1',
        user: { id: 'u1', email: 'u1@example.com', roles: [] } as never,
        session_id: randomUUID(),
        auth_expires_at: Date.now() + 60_000,
        slot,
      });
      expect(registry.countForUser('u1')).toBe(1);
      // Consumed, not double counted: one more place is left, and releasing the slot changes nothing.
      slot.release();
      expect(registry.reserveSlot('u1')).toBeDefined();
      expect(registry.reserveSlot('u1')).toBeUndefined();

      const gone = new Promise((r) => ws.once('close', r));
      client.close();
      await gone;
      expect(registry.countForUser('u1')).toBe(0);
      expect(registry.reserveSlot('u1')).toBeDefined();
    } finally {
      client.terminate();
      registry.onModuleDestroy();
      await new Promise((r) => server.close(r));
    }
  });
});
