import fc from 'fast-check';
import type { ClientMessage } from '../lib/client-messages';
import { MAX_CHAT_CHARS, MAX_ID_CHARS } from '../lib/protocol';
import type { ServerMessage } from '../lib/server-messages';
import { WS_ERROR_CODES } from '../lib/error-codes';
import type { JsonValue } from '../lib/json';

/**
 * fast-check arbitraries that produce only valid messages of contract
 * section 4. Tests in any project build their fixtures from these.
 */
export const idArb = fc.string({ minLength: 1, maxLength: MAX_ID_CHARS });
export const timestampArb = fc
  .date({
    min: new Date('2000-01-01T00:00:00Z'),
    max: new Date('2100-01-01T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
export const eventIdArb = fc.integer({ min: 1, max: 2 ** 31 });
// Values as they exist on the wire: JSON has no -0 (it serialises as 0), so a
// generated -0 would make a round-trip property fail on JSON, not on our code.
const jsonArb = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);

const runFields = { run_id: idArb, thread_id: idArb, event_id: eventIdArb, ts: timestampArb };

export const clientMessageArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record(
    {
      type: fc.constant('chat' as const),
      content: fc.string({ minLength: 1, maxLength: MAX_CHAT_CHARS, unit: 'grapheme-ascii' }),
      thread_id: idArb,
      client_msg_id: idArb,
    },
    { requiredKeys: ['type', 'content'] },
  ),
  fc.record(
    { type: fc.constant('ping' as const), client_msg_id: idArb },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('reauth' as const),
      ticket: fc.base64String({ minLength: 44, maxLength: 44 }),
      client_msg_id: idArb,
    },
    { requiredKeys: ['type', 'ticket'] },
  ),
  fc.record(
    {
      type: fc.constant('resume' as const),
      run_id: idArb,
      after_event_id: fc.nat(),
      client_msg_id: idArb,
    },
    { requiredKeys: ['type', 'run_id'] },
  ),
  fc.record(
    { type: fc.constant('cancel' as const), run_id: idArb, client_msg_id: idArb },
    { requiredKeys: ['type', 'run_id'] },
  ),
);

export const agentEventArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record({ type: fc.constant('agent_started' as const), ...runFields }),
  fc.record({ type: fc.constant('agent_thinking' as const), ...runFields, text: fc.string() }),
  fc.record({
    type: fc.constant('tool_executing' as const),
    ...runFields,
    tool: idArb,
    call_id: idArb,
    input: jsonArb,
  }),
  fc.record({
    type: fc.constant('tool_completed' as const),
    ...runFields,
    tool: idArb,
    call_id: idArb,
    output: jsonArb,
  }),
  fc.record({
    type: fc.constant('tool_completed' as const),
    ...runFields,
    tool: idArb,
    call_id: idArb,
    error: fc.string(),
  }),
  fc.record({ type: fc.constant('agent_completed' as const), ...runFields, result: fc.string() }),
  fc.record({ type: fc.constant('agent_failed' as const), ...runFields, error: fc.string() }),
);

export const serverMessageArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  agentEventArb,
  fc.record({
    type: fc.constant('connection_established' as const),
    connection_id: idArb,
    user_id: idArb,
    protocol: fc.constant('agent.v1' as const),
    auth_expires_at: timestampArb,
    server_time: timestampArb,
    heartbeat_interval_ms: fc.integer({ min: 1, max: 600_000 }),
    connection_ready: fc.constant(true as const),
  }),
  fc.record({ type: fc.constant('auth_expiring' as const), auth_expires_at: timestampArb }),
  fc.record({ type: fc.constant('reauth_ok' as const), auth_expires_at: timestampArb }),
  fc.record({ type: fc.constant('pong' as const), ts: timestampArb }),
  fc.record(
    {
      type: fc.constant('error' as const),
      code: fc.constantFrom(...WS_ERROR_CODES),
      message: fc.string(),
      ref: idArb,
    },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
);

/** Anything a hostile or broken peer might send as a frame. */
export const hostileFrameArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 512 }),
  fc.json(),
  fc.anything(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({
      type: fc.constantFrom('chat', 'ping', 'reauth', 'resume', 'cancel', 'nope', ''),
      rest: fc.dictionary(fc.string(), fc.jsonValue()),
    })
    .map(({ type, rest }) => JSON.stringify({ ...rest, type })),
  clientMessageArb.chain((m) =>
    fc.dictionary(fc.string(), fc.anything()).map((noise) => ({ ...noise, ...m, type: m.type })),
  ),
);
