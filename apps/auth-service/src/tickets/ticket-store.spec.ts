import { randomBytes } from 'node:crypto';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import type Redis from 'ioredis';
import { MemoryTicketStore } from './memory-ticket-store';
import { RedisTicketStore } from './redis-ticket-store';
import { TicketRecord, TicketStore } from './ticket-store';

/**
 * The TicketStore contract, run against both adapters so they cannot drift.
 * The Redis adapter is exercised on a real Redis; its concurrency test spreads
 * the racing consumers over several connections, as separate replicas would.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newHash = () => randomBytes(32).toString('hex');

function ticketRecord(overrides: Partial<TicketRecord> = {}): TicketRecord {
  return {
    user_id: 'user-1',
    session_id: 'session-1',
    origin: 'https://app.example.com',
    issued_at: '2030-01-01T00:00:00.000Z',
    auth_expires_at: '2030-01-01T00:15:00.000Z',
    ...overrides,
  };
}

let redis: TestRedis;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(async () => {
  await redis?.cleanup();
});

describe.each(['memory', 'redis'] as const)('TicketStore contract (%s)', (adapter) => {
  /** Stores over the same tickets; for Redis each has a connection of its own. */
  let replicas: TicketStore[];
  let store: TicketStore;
  const extraConnections: Redis[] = [];

  beforeAll(async () => {
    if (adapter === 'memory') {
      store = new MemoryTicketStore();
      replicas = [store];
      return;
    }
    for (let i = 0; i < 4; i++) {
      const connection = redis.client.duplicate();
      await connection.connect();
      extraConnections.push(connection);
    }
    store = new RedisTicketStore(redis.client, redis.prefix);
    replicas = [store, ...extraConnections.map((c) => new RedisTicketStore(c, redis.prefix))];
  });
  afterAll(async () => {
    await Promise.all(extraConnections.map((c) => c.quit()));
  });

  it('consumes a saved ticket once and returns its record', async () => {
    const hash = newHash();
    const record = ticketRecord();
    await store.save(hash, record, 30);
    expect(await store.consume(hash, 60)).toEqual({ status: 'consumed', record });
  });

  it('keeps a record without an origin without one', async () => {
    const hash = newHash();
    const { origin: _origin, ...record } = ticketRecord();
    await store.save(hash, record, 30);
    const result = await store.consume(hash, 60);
    expect(result).toEqual({ status: 'consumed', record });
  });

  it('reads a second consumption as already_used, with the record', async () => {
    const hash = newHash();
    const record = ticketRecord({ user_id: 'user-replayed' });
    await store.save(hash, record, 30);
    await store.consume(hash, 60);
    expect(await store.consume(hash, 60)).toEqual({ status: 'already_used', record });
    expect(await store.consume(hash, 60)).toEqual({ status: 'already_used', record });
  });

  it('discards a live ticket, which then reads unknown, and leaves others live', async () => {
    const [discarded, kept] = [newHash(), newHash()];
    await store.save(discarded, ticketRecord(), 30);
    await store.save(kept, ticketRecord(), 30);
    await store.discard(discarded);
    expect(await store.consume(discarded, 60)).toEqual({ status: 'unknown' });
    expect((await store.consume(kept, 60)).status).toBe('consumed');
  });

  it('reads a hash it never saw as unknown', async () => {
    expect(await store.consume(newHash(), 60)).toEqual({ status: 'unknown' });
  });

  it('keeps tickets apart: consuming one leaves another live', async () => {
    const [a, b] = [newHash(), newHash()];
    await store.save(a, ticketRecord({ user_id: 'a' }), 30);
    await store.save(b, ticketRecord({ user_id: 'b' }), 30);
    await store.consume(a, 60);
    expect(await store.consume(b, 60)).toEqual({
      status: 'consumed',
      record: ticketRecord({ user_id: 'b' }),
    });
  });

  it('reads an expired ticket as unknown', async () => {
    const hash = newHash();
    await store.save(hash, ticketRecord(), 1);
    await sleep(1100);
    expect(await store.consume(hash, 60)).toEqual({ status: 'unknown' });
  });

  it('lets exactly one of 50 concurrent consumptions read consumed; the other 49 read already_used', async () => {
    const hash = newHash();
    const record = ticketRecord({ session_id: 'raced' });
    await store.save(hash, record, 30);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => replicas[i % replicas.length].consume(hash, 60)),
    );
    expect(results.filter((r) => r.status === 'consumed')).toEqual([
      { status: 'consumed', record },
    ]);
    const refused = results.filter((r) => r.status !== 'consumed');
    expect(refused).toHaveLength(49);
    for (const r of refused) expect(r).toEqual({ status: 'already_used', record });
  });

  it('forgets a consumed ticket after rememberSeconds, so a late replay reads unknown', async () => {
    const hash = newHash();
    await store.save(hash, ticketRecord(), 30);
    expect((await store.consume(hash, 1)).status).toBe('consumed');
    expect((await store.consume(hash, 1)).status).toBe('already_used');
    await sleep(1100);
    expect(await store.consume(hash, 1)).toEqual({ status: 'unknown' });
  });
});
