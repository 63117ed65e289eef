import { ClientMessage } from '@admitone/agent-events';
import { clientMessageArb, hostileFrameArb } from '@admitone/agent-events/testing';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import fc from 'fast-check';
import { getJson } from '../support/auth-client';
import {
  AgentSocket,
  closeSockets,
  expectContractOnly,
  startWorker,
} from '../support/agent-client';
import {
  AuthStack,
  leakedTickets,
  loginAs,
  metricsText,
  metricValue,
  Session,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * The outside frame fuzz, kept in the repo (issue 10): seeded random frames
 * on authenticated sockets of two users while one of them chats, against
 * the built gateway, worker and auth-service. Whatever arrives:
 * - every frame the gateway sends parses with the contract, and every close
 *   it makes is a client-fault close code of the contract (1008, 1009),
 *   never 1011;
 * - no event crosses between the users: no run appears on sockets of both,
 *   not even when one user names the other's runs in `resume` and `cancel`;
 * - the gateway is alive and ready at the end.
 * (The upgrade-header fuzz lives in upgrade-fuzz.spec.ts, over raw TCP.)
 */
const SEED = 20_261_201;
const FRAMES = 2000;
/** What the gateway may close a socket with for a client's bad frames. */
const CLIENT_FAULT_CLOSES = [1008, 1009];

type Frame =
  | { kind: 'raw'; data: string | Buffer; binary: boolean }
  /** resume/cancel of a run of the other user, decided when the frame is sent. */
  | { kind: 'steal'; type: 'resume' | 'cancel'; after: number };

/** Turns any value the hostile arbitrary makes into something a client can send. */
function asFrame(value: unknown): Frame {
  if (typeof value === 'string') return { kind: 'raw', data: value, binary: false };
  if (value instanceof Uint8Array) return { kind: 'raw', data: Buffer.from(value), binary: true };
  try {
    return { kind: 'raw', data: JSON.stringify(value) ?? String(value), binary: false };
  } catch {
    return { kind: 'raw', data: Object.prototype.toString.call(value), binary: false };
  }
}

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: hostileFrameArb.map(asFrame) },
  { weight: 2, arbitrary: clientMessageArb.map((m: ClientMessage) => asFrame(m)) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('steal' as const),
      type: fc.constantFrom('resume' as const, 'cancel' as const),
      after: fc.nat(5),
    }),
  },
);

describe('ws-gateway under random frames from two users', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sessions: Record<'alice' | 'bob', Session> = {} as Record<'alice' | 'bob', Session>;
  const sockets: Record<'alice' | 'bob', AgentSocket[]> = { alice: [], bob: [] };

  beforeAll(async () => {
    redis = await connectTestRedis();
    [
      {
        stack,
        gateways: [gateway],
      },
    ] = await Promise.all([
      startStack(redis, { TICKET_RATE_LIMIT: '100000/60s' }, [
        {
          UPGRADE_RATE_LIMIT: '100000/60s',
          MESSAGE_RATE_LIMIT: '100000/1s',
          MAX_CONNECTIONS_PER_USER: '1000',
        },
      ]),
      startWorker(redis, { AGENT_STEP_DELAY_MS: '5' }),
    ]);
    [sessions.alice, sessions.bob] = await Promise.all([
      loginAs(stack.auth.url, USERS[0]),
      loginAs(stack.auth.url, USERS[1]),
    ]);
  });
  afterAll(async () => {
    closeSockets([...sockets.alice, ...sockets.bob]);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAs(user: 'alice' | 'bob', label: string): Promise<AgentSocket> {
    const socket = await AgentSocket.open(gateway.url, await sessions[user].ticket(), label);
    sockets[user].push(socket);
    return socket;
  }

  const runsSeenBy = (user: 'alice' | 'bob') => new Set(sockets[user].flatMap((s) => s.runIds()));

  it(`answers ${FRAMES} seeded random frames with contract messages or contract closes, and no event crosses users`, async () => {
    // Alice chats all along on a socket of her own, so there are live events to leak.
    const chatter = await openAs('alice', 'alice-chatter');
    let chatting = true;
    const chats = (async () => {
      let round = 0;
      while (chatting && !chatter.closed) {
        const known = chatter.runIds();
        chatter.chat(`What is ${round} + ${round}?`, `chat-${round}`);
        const runId = await chatter.nextRun(known, `run ${round}`, 30_000);
        await chatter.until(() => chatter.finished(runId), `the end of run ${round}`, 30_000);
        round += 1;
      }
    })();

    const current: Partial<Record<'alice' | 'bob', AgentSocket>> = {};
    const closes: number[] = [];
    let frames = 0;
    const socketOf = async (user: 'alice' | 'bob') => {
      const socket = current[user];
      if (socket && !socket.closed) return socket;
      const fresh = await openAs(user, `${user}-fuzz-${sockets[user].length}`);
      current[user] = fresh;
      return fresh;
    };

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('alice' as const, 'bob' as const),
        frameArb,
        async (user, frame) => {
          const target = await socketOf(user);
          if (frame.kind === 'steal') {
            const other = user === 'alice' ? 'bob' : 'alice';
            const victim = [...runsSeenBy(other)].pop() ?? '00000000-0000-4000-8000-000000000000';
            target.send({ type: frame.type, run_id: victim, after_event_id: frame.after });
          } else {
            target.ws.send(frame.data, { binary: frame.binary });
          }
          frames += 1;
          const pongs = () => target.frames.filter((f) => f.type === 'pong').length;
          const before = pongs();
          target.send({ type: 'ping', client_msg_id: 'fuzz-sync' });
          // Fails on a frame outside the contract (AgentSocket parses every one) or on silence.
          await target.until(
            () => pongs() > before || !!target.closed,
            'a pong or a close',
            15_000,
          );
          const outcome = target.closed ? target.closed.code : 'pong';
          if (target.closed) closes.push(target.closed.code);
          expect(['pong', ...CLIENT_FAULT_CLOSES]).toContain(outcome);
        },
      ),
      { numRuns: FRAMES, seed: SEED, endOnFailure: true },
    );
    chatting = false;
    await chats;

    expect(frames).toBe(FRAMES);
    expectContractOnly([...sockets.alice, ...sockets.bob]);
    expect(closes).not.toContain(1011);
    const alicesRuns = runsSeenBy('alice');
    const bobsRuns = runsSeenBy('bob');
    // Alice's chats made live events while Bob's sockets were open.
    expect(chatter.runIds().length).toBeGreaterThan(0);
    expect([...alicesRuns].filter((id) => bobsRuns.has(id))).toEqual([]);

    const metrics = await metricsText(gateway);
    expect(metricValue(metrics, 'ws_closes_total', { code: '1011' })).toBe(0);
    expect(metricValue(metrics, 'ws_upgrades_total', { result: 'internal_error' })).toBe(0);
    expect((await getJson(`${gateway.url}/health/ready`)).status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();
    expect(leakedTickets(gateway)).toEqual([]);
  }, 600_000);
});
