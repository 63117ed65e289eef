import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { RedisAgentBus } from '@admitone/agent-runtime';
import { Metrics, Readiness } from '@admitone/service-runtime';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import Redis from 'ioredis';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { GatewayConfig, GatewayConfigSchema } from '../config/gateway-config';
import { Connection } from '../connections/connection';
import { ConnectionRegistry } from '../connections/connection-registry';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { AgentRelay } from './agent-relay';

/**
 * The relay keeps per-socket state (run cursors) only for open sockets: a
 * socket that closes while a `chat` or `resume` is still awaiting must not
 * be put back into the relay's maps when the await returns.
 */
describe('AgentRelay per-socket state', () => {
  jest.setTimeout(30_000);
  const config: GatewayConfig = GatewayConfigSchema.parse({});
  const logger = pino({ level: 'silent' });
  let redis: TestRedis;
  let subscriber: Redis;
  let server: WebSocketServer;
  let registry: ConnectionRegistry;
  let relay: AgentRelay;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    subscriber = new Redis(redis.url);
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
  });

  beforeEach(() => {
    const metrics = new GatewayMetrics(new Metrics('ws-gateway-test'), new Readiness());
    registry = new ConnectionRegistry(config, logger, metrics);
    const bus = new RedisAgentBus(redis.client, subscriber, redis.prefix, 60, {
      maxRunsPerUser: 10,
      maxPendingRuns: 100,
    });
    relay = new AgentRelay(bus, config, registry, metrics, logger);
    relay.onModuleInit();
  });

  afterEach(() => {
    registry.onModuleDestroy();
    for (const c of clients.splice(0)) c.terminate();
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    subscriber.disconnect();
    await redis.cleanup();
  });

  async function openConnection(userId: string): Promise<Connection> {
    const accepted = new Promise<WebSocket>((r) => server.once('connection', r));
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client.on('error', () => undefined);
    clients.push(client);
    const [ws] = await Promise.all([accepted, new Promise((r) => client.once('open', r))]);
    const slot = registry.reserveSlot(userId);
    if (!slot) throw new Error('no slot');
    return registry.open(ws, {
      connection_id: randomUUID(),
      request_id: randomUUID(),
      remote_address: '127.0.0.1',
      user: { id: userId, email: `${userId}@example.com`, roles: [] } as never,
      session_id: randomUUID(),
      auth_expires_at: Date.now() + 3_600_000,
      slot,
    });
  }

  async function closeSocket(connection: Connection): Promise<void> {
    const gone = new Promise((r) => connection.ws.once('close', r));
    connection.close(1000, 'bye');
    await gone;
  }

  it('frees a socket’s run state when the socket closes', async () => {
    const connection = await openConnection(`u-${randomUUID()}`);
    expect(relay.expectRun(connection, randomUUID(), undefined)).toBe(true);
    expect(relay.trackedSockets).toBe(1);
    await closeSocket(connection);
    expect(relay.trackedSockets).toBe(0);
  });

  it('never re-inserts a socket that closed while its chat was awaiting', async () => {
    const connection = await openConnection(`u-${randomUUID()}`);
    // The chat handler awaits the user's subscription; the socket closes meanwhile.
    await closeSocket(connection);
    expect(relay.expectRun(connection, randomUUID(), undefined)).toBe(false);
    expect(relay.trackedSockets).toBe(0);
    expect(registry.size).toBe(0);
  });

  it('never re-inserts a socket that closed while its resume was awaiting', async () => {
    const connection = await openConnection(`u-${randomUUID()}`);
    await closeSocket(connection);
    await relay.resume(connection, randomUUID(), 0);
    expect(relay.trackedSockets).toBe(0);
  });

  it('frees a run’s cursor once its terminal event went out', async () => {
    const userId = `u-${randomUUID()}`;
    const connection = await openConnection(userId);
    const runId = randomUUID();
    expect(relay.expectRun(connection, runId, undefined)).toBe(true);
    await relay.ready(userId);
    const received: string[] = [];
    const client = clients[clients.length - 1];
    const done = new Promise<void>((resolve) =>
      client.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { type: string };
        if (m.type.startsWith('agent_')) received.push(m.type);
        if (m.type === 'agent_completed') resolve();
      }),
    );
    const at = new Date().toISOString();
    const base = { run_id: runId, thread_id: randomUUID(), ts: at };
    // What the bus hands the relay for the user's channel.
    const live = relay as unknown as { onLiveEvent(u: string, e: unknown, eu: string): void };
    live.onLiveEvent(userId, { ...base, type: 'agent_started', event_id: 1 }, userId);
    live.onLiveEvent(
      userId,
      { ...base, type: 'agent_completed', event_id: 2, result: 'ok' },
      userId,
    );
    await done;
    expect(received).toEqual(['agent_started', 'agent_completed']);
    expect(relay.trackedSockets).toBe(0);
  });
});
