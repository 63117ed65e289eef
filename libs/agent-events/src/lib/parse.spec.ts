import fc from 'fast-check';
import { clientMessageArb, hostileFrameArb, serverMessageArb } from '../testing/arbitraries';
import { parseClientMessage, parseServerMessage } from './parse';
import { MAX_CHAT_CHARS, MAX_FRAME_BYTES } from './protocol';

describe('parseClientMessage', () => {
  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(hostileFrameArb, (input) => {
        const result = parseClientMessage(input);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps every valid client message intact through JSON and back', () => {
    fc.assert(
      fc.property(clientMessageArb, (message) => {
        expect(parseClientMessage(JSON.stringify(message))).toEqual({ ok: true, message });
        expect(parseClientMessage(Buffer.from(JSON.stringify(message)))).toEqual({
          ok: true,
          message,
        });
      }),
    );
  });

  it('answers bad JSON with invalid_json', () => {
    expect(parseClientMessage('{"type":"chat",')).toEqual({
      ok: false,
      error: { code: 'invalid_json', message: 'frame is not valid JSON' },
    });
  });

  it('answers an unknown type with unknown_type and the client_msg_id as ref', () => {
    const result = parseClientMessage(JSON.stringify({ type: 'teleport', client_msg_id: 'm-1' }));
    expect(result).toMatchObject({ ok: false, error: { code: 'unknown_type', ref: 'm-1' } });
  });

  it('answers a missing or non-string type with invalid_message', () => {
    for (const frame of ['{}', '{"type":5}', '[]', '"chat"', '42', 'null']) {
      expect(parseClientMessage(frame)).toMatchObject({
        ok: false,
        error: { code: 'invalid_message' },
      });
    }
  });

  it('refuses a chat over 16,000 characters and names the field', () => {
    const result = parseClientMessage({
      type: 'chat',
      content: 'x'.repeat(MAX_CHAT_CHARS + 1),
      client_msg_id: 'c',
    });
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_message', ref: 'c' } });
    if (!result.ok) expect(result.error.message).toMatch(/^content:/);
  });

  it('accepts a chat of exactly 16,000 characters', () => {
    expect(parseClientMessage({ type: 'chat', content: 'x'.repeat(MAX_CHAT_CHARS) }).ok).toBe(true);
  });

  it('refuses an empty chat', () => {
    expect(parseClientMessage({ type: 'chat', content: '' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
  });

  it('refuses frames over 64 KiB with message_too_large', () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(MAX_FRAME_BYTES) });
    expect(parseClientMessage(big)).toMatchObject({
      ok: false,
      error: { code: 'message_too_large' },
    });
    expect(parseClientMessage(Buffer.from(big))).toMatchObject({
      ok: false,
      error: { code: 'message_too_large' },
    });
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(parseClientMessage(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
  });

  it('ignores unknown fields', () => {
    expect(parseClientMessage('{"type":"ping","extra":{"deep":[1,2]}}')).toEqual({
      ok: true,
      message: { type: 'ping' },
    });
  });

  it('reassembles fragmented frames handed over as an array of buffers', () => {
    const parts = [Buffer.from('{"type":"ca'), Buffer.from('ncel","run_id":"r1"}')];
    expect(parseClientMessage(parts)).toEqual({
      ok: true,
      message: { type: 'cancel', run_id: 'r1' },
    });
  });

  it('does not take an overlong client_msg_id as ref', () => {
    const result = parseClientMessage({ type: 'nope', client_msg_id: 'x'.repeat(500) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.ref).toBeUndefined();
  });

  it('survives inputs whose getters throw', () => {
    const evil = Object.defineProperty({}, 'type', {
      get() {
        throw new Error('boom');
      },
    });
    expect(parseClientMessage(evil)).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
  });
});

describe('parseServerMessage', () => {
  it('keeps every valid server message intact through JSON and back', () => {
    fc.assert(
      fc.property(serverMessageArb, (message) => {
        expect(parseServerMessage(JSON.stringify(message))).toEqual({ ok: true, message });
      }),
    );
  });

  it('never throws, whatever the server sends', () => {
    fc.assert(
      fc.property(hostileFrameArb, (input) => typeof parseServerMessage(input).ok === 'boolean'),
      { numRuns: 1000 },
    );
  });

  it('refuses a tool_completed carrying both output and error', () => {
    const frame = {
      type: 'tool_completed',
      run_id: 'r',
      thread_id: 't',
      event_id: 4,
      ts: new Date().toISOString(),
      tool: 'calculator',
      call_id: 'c',
      output: 42,
      error: 'nope',
    };
    expect(parseServerMessage(frame)).toMatchObject({
      ok: false,
      error: { code: 'invalid_message' },
    });
  });

  it('refuses a client message type as a server message', () => {
    expect(parseServerMessage({ type: 'chat', content: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'unknown_type' },
    });
  });
});
