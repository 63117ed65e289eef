import { BUS_KEYS, MAX_CHAT_CHARS } from '@admitone/agent-events';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  startWorker,
} from '../support/agent-client';
import { AuthStack, loginAs, startAuth, startGateway, USERS } from '../support/gateway-stack';
import { eventually, ServiceProcess, stopAllServices } from '../support/service-process';

/**
 * Two contract rows against the real services. A run past its retention
 * window is forgotten: `resume` of it answers `error` `unknown_run` (the
 * services run with a 2 s RUN_RETENTION_SECONDS; the test waits until the
 * run's keys are gone from Redis, then resumes). A chat's content may be
 * 16,000 characters (not bytes) and no more: 16,001 is answered with
 * `error` `invalid_message`, the chat's client_msg_id as `ref`, and no run.
 */
const RETENTION_SECONDS = '2';

describe('run retention and the chat size limit, through the gateway', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sockets: AgentSocket[] = [];

  beforeAll(async () => {
    redis = await connectTestRedis();
    stack = await startAuth(redis);
    [gateway] = await Promise.all([
      startGateway(redis, stack, { RUN_RETENTION_SECONDS: RETENTION_SECONDS }),
      startWorker(redis, { AGENT_STEP_DELAY_MS: '20', RUN_RETENTION_SECONDS: RETENTION_SECONDS }),
    ]);
  });
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function openAlice(label: string): Promise<AgentSocket> {
    const session = await loginAs(stack.auth.url, USERS[0]);
    const socket = await AgentSocket.open(gateway.url, await session.ticket(), label);
    sockets.push(socket);
    return socket;
  }

  it('answers resume of a run past its retention window with unknown_run', async () => {
    const socket = await openAlice('retention');
    socket.chat('What is 6 * 7?', 'chat');
    const runId = await socket.nextRun([]);
    await socket.until(() => socket.finished(runId), 'the run to finish');
    expectCompletedRun(socket.eventsOf(runId));

    const keys = [BUS_KEYS.run(runId), BUS_KEYS.runEvents(runId)].map((k) => `${redis.prefix}${k}`);
    await eventually(
      async () => (await redis.client.exists(...keys)) === 0,
      "the run's keys to expire",
      30_000,
    );
    socket.send({ type: 'resume', run_id: runId, after_event_id: 0, client_msg_id: 'late' });
    const answer = await socket.waitFor(
      (f) => f.type === 'error' && f.ref === 'late',
      'the answer to the late resume',
    );
    expect(answer).toMatchObject({ type: 'error', code: 'unknown_run', ref: 'late' });
    // Nothing of the forgotten run was sent again.
    expect(socket.eventsOf(runId)).toHaveLength(5);
    expectContractOnly(sockets);
  });

  it('accepts a chat of exactly 16,000 characters and refuses 16,001 with invalid_message', async () => {
    expect(MAX_CHAT_CHARS).toBe(16_000);
    const socket = await openAlice('size');
    // Three UTF-8 bytes each: the limit counts characters, and 48,000 bytes still fit a frame.
    const longest = '€€€ '.repeat(4000);
    expect(longest).toHaveLength(16_000);
    socket.chat(`${longest}x`, 'too-long');
    const refusal = await socket.waitFor(
      (f) => f.type === 'error' && f.ref === 'too-long',
      'the refusal of 16,001 characters',
    );
    expect(refusal).toMatchObject({ type: 'error', code: 'invalid_message', ref: 'too-long' });

    socket.chat(longest, 'longest');
    const runId = await socket.nextRun([], 'the run of 16,000 characters', 30_000);
    await socket.until(() => socket.finished(runId), 'that run to finish', 30_000);
    expectCompletedRun(socket.eventsOf(runId));
    expect(socket.eventsOf(runId)[3]).toMatchObject({
      tool: 'text_stats',
      output: { characters: 16_000, words: 4000 },
    });
    // One run only: the refused chat never reached the bus.
    expect(socket.runIds()).toEqual([runId]);
    expect(socket.errors()).toHaveLength(1);
    expectContractOnly(sockets);
  });
});
