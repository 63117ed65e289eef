import { matchesAnySecret, randomToken, secretsEqual, shortHash } from './secrets';

describe('secrets', () => {
  it('compares secrets of different lengths without throwing', () => {
    expect(secretsEqual('a', 'a')).toBe(true);
    expect(secretsEqual('a', 'ab')).toBe(false);
  });

  it('accepts any key of a rotation list and nothing else', () => {
    expect(matchesAnySecret('new-key', ['old-key', 'new-key'])).toBe(true);
    expect(matchesAnySecret('old-key', ['old-key', 'new-key'])).toBe(true);
    expect(matchesAnySecret('other', ['old-key', 'new-key'])).toBe(false);
    expect(matchesAnySecret('x', [])).toBe(false);
  });

  it('makes 256-bit base64url tokens that do not repeat', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('tags a secret with a short hash that does not contain it', () => {
    const ticket = randomToken();
    expect(shortHash(ticket)).toMatch(/^[0-9a-f]{12}$/);
    expect(ticket).not.toContain(shortHash(ticket));
  });
});
