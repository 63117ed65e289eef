import { z } from 'zod';
import { ClientMessage, ClientMessageSchema } from './client-messages';
import { WsErrorCode } from './error-codes';
import { MAX_FRAME_BYTES, MAX_ID_CHARS } from './protocol';
import { ServerMessage, ServerMessageSchema } from './server-messages';

/**
 * Turns any input (a text frame, raw bytes, or an already-parsed value) into
 * either a typed message or a typed error carrying the contract's code.
 * It never throws: the gateway answers a bad frame with an `error` event and
 * keeps the socket, and the SDK must survive whatever a server sends.
 */
export interface ParseFailure {
  code: WsErrorCode;
  message: string;
  /** The offending message's `client_msg_id`, when it had a usable one. */
  ref?: string;
}
export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: ParseFailure };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(
  code: WsErrorCode,
  message: string,
  ref?: string,
): { ok: false; error: ParseFailure } {
  return { ok: false, error: ref === undefined ? { code, message } : { code, message, ref } };
}

function toText(input: unknown): { text: string } | { value: unknown } | ParseFailure {
  if (typeof input === 'string') return { text: input };
  let bytes: Uint8Array | undefined;
  if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (Array.isArray(input) && input.every((c) => c instanceof Uint8Array)) {
    // `ws` hands fragmented messages over as an array of Buffers.
    const total = input.reduce((n: number, c: Uint8Array) => n + c.byteLength, 0);
    if (total > MAX_FRAME_BYTES)
      return { code: 'message_too_large', message: `frame exceeds ${MAX_FRAME_BYTES} bytes` };
    bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of input as Uint8Array[]) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  if (bytes === undefined) return { value: input };
  if (bytes.byteLength > MAX_FRAME_BYTES) {
    return { code: 'message_too_large', message: `frame exceeds ${MAX_FRAME_BYTES} bytes` };
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { code: 'invalid_message', message: 'frame is not valid UTF-8' };
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid message';
  const path = issue.path.length ? issue.path.map(String).join('.') : 'message';
  return `${path}: ${issue.message}`;
}

function parseWith<T>(
  input: unknown,
  schema: z.ZodType<T>,
  knownTypes: ReadonlySet<string>,
): ParseResult<T> {
  try {
    const source = toText(input);
    if ('code' in source) return fail(source.code, source.message);
    let value: unknown;
    if ('text' in source) {
      if (source.text.length > MAX_FRAME_BYTES) {
        return fail('message_too_large', `frame exceeds ${MAX_FRAME_BYTES} bytes`);
      }
      try {
        value = JSON.parse(source.text);
      } catch {
        return fail('invalid_json', 'frame is not valid JSON');
      }
    } else {
      value = source.value;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return fail('invalid_message', 'a message is a JSON object with a "type" field');
    }
    const record = value as Record<string, unknown>;
    const rawRef = record['client_msg_id'];
    const ref =
      typeof rawRef === 'string' && rawRef.length > 0 && rawRef.length <= MAX_ID_CHARS
        ? rawRef
        : undefined;
    const type = record['type'];
    if (typeof type !== 'string') return fail('invalid_message', 'type: a string is required', ref);
    if (!knownTypes.has(type))
      return fail('unknown_type', `unknown message type "${type.slice(0, 64)}"`, ref);
    const result = schema.safeParse(value);
    if (!result.success) return fail('invalid_message', describe(result.error), ref);
    return { ok: true, message: result.data };
  } catch {
    // Exotic inputs (getters that throw, proxies) must still not escape.
    return fail('invalid_message', 'message could not be read');
  }
}

const clientTypes: ReadonlySet<string> = new Set(
  ClientMessageSchema.options.map((o) => o.shape.type.value),
);
const serverTypes: ReadonlySet<string> = new Set(
  ServerMessageSchema.options.map((o) => ('shape' in o ? o.shape.type.value : '')).filter(Boolean),
);

/** Parses a frame a client sent to the gateway. */
export function parseClientMessage(input: unknown): ParseResult<ClientMessage> {
  return parseWith(input, ClientMessageSchema, clientTypes);
}

/** Parses a frame the gateway sent to a client (used by the SDK). */
export function parseServerMessage(input: unknown): ParseResult<ServerMessage> {
  return parseWith(input, ServerMessageSchema, serverTypes);
}
