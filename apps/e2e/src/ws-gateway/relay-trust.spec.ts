import { randomUUID } from 'node:crypto';
import { AgentEvent, BUS_KEYS, BusEvent } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import { AgentSocket, closeSockets, expectContractOnly } from '../support/agent-client';
import {
  AuthStack,
  loginAs,
  metricsText,
  metricValue,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Issue 10 item 8, user data and trust: the relay does not trust the bus.
 * Something that writes to the bus (a buggy agent of another team, a
 * misrouted publish) puts events on Bob's channel that are not Bob's: one
 * whose BusEvent says it belongs to Alice, one of a run Alice owns, and one
 * of Alice's run that arrives with a gap, so the relay would replay the
 * rest of her stream to fill it. None reaches Bob's socket; each is dropped,
 * logged and counted. The test plays that agent by writing the bus keys
 * documented in libs/agent-events (bus.ts).
 */
describe('the relay checks whose events it delivers', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis));
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  const event = (runId: string, eventId: number): AgentEvent =>
    ({
      type: eventId === 1 ? 'agent_started' : 'agent_thinking',
      run_id: runId,
      thread_id: `thread-${runId}`,
      event_id: eventId,
      ts: new Date().toISOString(),
      ...(eventId === 1 ? {} : { text: `step ${eventId} of a run that is not yours` }),
    }) as AgentEvent;

  /** A run as the gateway and an agent leave it in Redis: its hash and its first events. */
  async function writeRun(runId: string, ownerId: string, events: number): Promise<void> {
    const p = redis.prefix;
    await redis.client.hset(`${p}${BUS_KEYS.run(runId)}`, {
      user_id: ownerId,
      session_id: randomUUID(),
      thread_id: `thread-${runId}`,
      status: 'running',
      created_at: new Date().toISOString(),
      last_event_id: String(events),
    });
    for (let id = 1; id <= events; id++)
      await redis.client.xadd(
        `${p}${BUS_KEYS.runEvents(runId)}`,
        '*',
        'event',
        JSON.stringify(event(runId, id)),
      );
  }

  async function publish(channelUserId: string, bus: BusEvent): Promise<void> {
    await redis.client.publish(
      `${redis.prefix}${BUS_KEYS.userEvents(channelUserId)}`,
      JSON.stringify(bus),
    );
  }

  it("never delivers another user's events that arrive on a user's channel", async () => {
    const [alice, bob] = await Promise.all([
      loginAs(stack.auth.url, USERS[0]),
      loginAs(stack.auth.url, USERS[1]),
    ]);
    const aliceSocket = await AgentSocket.open(gateway.url, await alice.ticket(), 'alice');
    const bobSocket = await AgentSocket.open(gateway.url, await bob.ticket(), 'bob');
    sockets.push(aliceSocket, bobSocket);
    const aliceId = aliceSocket.userId;
    const bobId = bobSocket.userId;
    expect(aliceId).not.toBe(bobId);

    const claimsAlice = randomUUID();
    const alicesRun = randomUUID();
    const alicesRunWithGap = randomUUID();
    const bobsRun = randomUUID();
    await writeRun(claimsAlice, aliceId, 1);
    await writeRun(alicesRun, aliceId, 1);
    await writeRun(alicesRunWithGap, aliceId, 3);
    await writeRun(bobsRun, bobId, 1);

    await publish(bobId, { user_id: aliceId, event: event(claimsAlice, 1) });
    await publish(bobId, { user_id: bobId, event: event(alicesRun, 1) });
    await publish(bobId, { user_id: bobId, event: event(alicesRunWithGap, 3) });
    // Bob's own event, published last on the same channel, still arrives.
    await publish(bobId, { user_id: bobId, event: event(bobsRun, 1) });
    await bobSocket.until(() => bobSocket.eventsOf(bobsRun).length === 1, "Bob's own event");

    // The drops are counted as the relay decides them: wait for all three (or give up).
    const deadline = Date.now() + 15_000;
    while (
      metricValue(await metricsText(gateway), 'ws_relay_dropped_events_total') < 3 &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(bobSocket.runIds()).toEqual([bobsRun]);
    expect(aliceSocket.events()).toEqual([]);
    const text = await metricsText(gateway);
    expect(metricValue(text, 'ws_relay_dropped_events_total', { reason: 'user_mismatch' })).toBe(1);
    expect(
      metricValue(text, 'ws_relay_dropped_events_total', { reason: 'run_owner_mismatch' }),
    ).toBe(2);
    const warnings = gateway
      .logLines()
      .filter(
        (l) => l['level'] === 'warn' && l['msg'] === 'dropped an agent event of another user',
      );
    expect(warnings.map((l) => l['run_id']).sort()).toEqual(
      [claimsAlice, alicesRun, alicesRunWithGap].sort(),
    );
    expectContractOnly(sockets);
  }, 60_000);
});
