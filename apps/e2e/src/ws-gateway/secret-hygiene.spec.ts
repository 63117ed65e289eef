import { randomBytes } from 'node:crypto';
import { ServerMessage } from '@admitone/agent-events';
import { TokenResponse, TokenResponseSchema } from '@admitone/auth-contracts';
import { connectTestRedis, TestRedis } from '@admitone/testing';
import {
  AgentSocket,
  closeSockets,
  expectCompletedRun,
  expectContractOnly,
  startWorker,
} from '../support/agent-client';
import {
  accessTokenClaims,
  expectError,
  issueTicket,
  login,
  postJson,
  refresh,
} from '../support/auth-client';
import { secretsIn, storedKeys } from '../support/faults';
import {
  AuthStack,
  metricsText,
  metricValue,
  PASSWORD,
  startStack,
  USERS,
} from '../support/gateway-stack';
import { ServiceProcess, stopAllServices } from '../support/service-process';
import { refused, wsUrl } from '../support/ws-client';

/**
 * Issue 16 rows 5 and 8. After real traffic (logins, a failed login,
 * refreshes, tickets issued, exchanged, replayed and left unused, chats on a
 * client-chosen thread), two places must hold none of it:
 * - Redis, where only hashes of tickets and refresh tokens are stored: no
 *   raw ticket, refresh token, access token or password, in any key name or
 *   value of any type;
 * - the gateway's /metrics (and auth-service's): no secret and no user data
 *   (user ids, session ids, emails, thread ids, run ids, chat content).
 */
const WRONG_PASSWORD = `wrong-${randomBytes(8).toString('hex')}`;

// Real processes on a shared machine: generous limits, no latency asserted.
jest.setTimeout(120_000);

describe('secrets and user data stay out of Redis values and metrics', () => {
  let redis: TestRedis;
  let stack: AuthStack;
  let gateway: ServiceProcess;
  const sockets: AgentSocket[] = [];
  const tokens: TokenResponse[] = [];
  const tickets: string[] = [];
  const userData = {
    emails: USERS.slice(0, 2),
    userIds: [] as string[],
    sessionIds: [] as string[],
    threadIds: [] as string[],
    runIds: [] as string[],
    chatContent: [] as string[],
  };

  beforeAll(async () => {
    redis = await connectTestRedis();
    ({
      stack,
      gateways: [gateway],
    } = await startStack(redis));
    await startWorker(redis);
    await traffic();
  }, 120_000);
  afterAll(async () => {
    closeSockets(sockets);
    await stopAllServices();
    await redis.cleanup();
  });

  async function traffic(): Promise<void> {
    expectError(
      await postJson(`${stack.auth.url}/auth/login`, { email: USERS[0], password: WRONG_PASSWORD }),
      'invalid_credentials',
    );
    for (const email of userData.emails) {
      const first = await login(stack.auth.url, email, PASSWORD);
      const second = TokenResponseSchema.parse(
        (await refresh(stack.auth.url, first.refresh_token)).body,
      );
      const third = TokenResponseSchema.parse(
        (await refresh(stack.auth.url, second.refresh_token)).body,
      );
      tokens.push(first, second, third);
      const claims = accessTokenClaims(third.access_token);
      userData.userIds.push(claims.sub);
      userData.sessionIds.push(claims.sid);

      const used = await issueTicket(stack.auth.url, third.access_token);
      const unused = await issueTicket(stack.auth.url, third.access_token);
      tickets.push(used, unused);
      const socket = await AgentSocket.open(gateway.url, used, email);
      sockets.push(socket);
      // A replay of the consumed ticket is refused: its record stays (hashed) for `already_used`.
      const replay = await refused(wsUrl(gateway.url, `?ticket=${used}`), ['agent.v1']);
      expect(replay.body).toMatchObject({ error: 'ticket_invalid', reason: 'already_used' });

      const threadId = `thread-${randomBytes(6).toString('hex')}`;
      const content = `What is 6 * 7? note-${randomBytes(6).toString('hex')}`;
      userData.threadIds.push(threadId);
      userData.chatContent.push(content);
      socket.send({ type: 'chat', content, thread_id: threadId, client_msg_id: `m-${threadId}` });
      const runId = await socket.nextRun([], `${email}: a run`, 20_000);
      await socket.until(() => socket.finished(runId), `${email}: the run to finish`, 20_000);
      expectCompletedRun(socket.eventsOf(runId));
      const started = socket.frames.find(
        (f: ServerMessage) => f.type === 'agent_started' && f.run_id === runId,
      );
      expect(started).toMatchObject({ thread_id: threadId });
      userData.runIds.push(runId);
    }
    expectContractOnly(sockets);
  }

  const secrets = () => ({
    ticket: tickets,
    'refresh token': tokens.map((t) => t.refresh_token),
    'access token': tokens.map((t) => t.access_token),
    'access token signature': tokens.map((t) => t.access_token.split('.')[2]),
    password: [PASSWORD, WRONG_PASSWORD],
    'exchange client key': [stack.key],
  });

  it('stores no raw ticket, refresh token, access token or password anywhere in Redis', async () => {
    const stored = await storedKeys(redis);
    // The scan reads what the traffic wrote, stream entries included: it is not looking at nothing.
    expect(stored.some((k) => k.type === 'stream' && k.parts.length > 0)).toBe(true);
    const seen = secretsIn(stored, {
      'user id': userData.userIds,
      'thread id': userData.threadIds,
    });
    expect(new Set(seen.map((f) => f.secret))).toEqual(new Set(['user id', 'thread id']));

    expect(secretsIn(stored, secrets())).toEqual([]);
  });

  it('keeps secrets and user data out of the gateway’s and auth-service’s /metrics', async () => {
    const gatewayMetrics = await metricsText(gateway);
    // The traffic was counted, so the text is not empty of what it would leak.
    expect(metricValue(gatewayMetrics, 'ws_upgrades_total', { result: 'accepted' })).toBe(2);
    expect(metricValue(gatewayMetrics, 'ws_upgrades_total', { result: 'ticket_invalid' })).toBe(2);
    const authMetrics = await metricsText(stack.auth);
    const all = { ...secrets(), ...userData };
    const leaks = (text: string) =>
      Object.entries(all).flatMap(([label, values]) =>
        values.filter((v) => text.includes(v)).map(() => label),
      );
    expect(leaks(gatewayMetrics)).toEqual([]);
    expect(leaks(authMetrics)).toEqual([]);
  });
});
