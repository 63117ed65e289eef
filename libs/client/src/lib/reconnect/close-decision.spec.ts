import { CLOSE_CODES } from '@admitone/agent-events';
import fc from 'fast-check';
import { decideOnClose } from './close-decision';

describe('what the client does on each close code (contract 4.5)', () => {
  it.each([
    [1000, 'stop', undefined, 'normal'],
    [1008, 'stop', undefined, 'policy_violation'],
    [1009, 'stop', undefined, 'message_too_big'],
    [4403, 'login', undefined, 'session_revoked'],
    [1001, 'reconnect', 'now', 'going_away'],
    [1012, 'reconnect', 'now', 'service_restart'],
    [4401, 'reconnect', 'now', 'auth_expired'],
    [1006, 'reconnect', 'backoff', 'abnormal'],
    [1011, 'reconnect', 'backoff', 'internal_error'],
    [1013, 'reconnect', 'backoff', 'try_again_later'],
    [4429, 'reconnect', 'backoff', 'rate_limited'],
    [1005, 'reconnect', 'backoff', 'unknown'],
    [4999, 'reconnect', 'backoff', 'unknown'],
  ])('%i -> %s %s (%s)', (code, kind, when, name) => {
    const decision = decideOnClose(code);
    expect(decision.kind).toBe(kind);
    expect(decision.name).toBe(name);
    if (decision.kind === 'reconnect') expect(decision.when).toBe(when);
    expect(decision.meaning.length).toBeGreaterThan(0);
  });

  it('follows the shared table for every code in it', () => {
    for (const info of Object.values(CLOSE_CODES)) {
      const decision = decideOnClose(info.code);
      expect(decision.action).toBe(info.action);
      expect(decision.meaning).toBe(info.meaning);
    }
  });

  it('never stops on a code outside the table', () => {
    const known = new Set<number>(Object.values(CLOSE_CODES).map((c) => c.code));
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 4999 }).filter((c) => !known.has(c)),
        (code) => expect(decideOnClose(code)).toMatchObject({ kind: 'reconnect', when: 'backoff' }),
      ),
    );
  });
});
