import fc from 'fast-check';
import { AgentClientOptionsSchema } from './client-options';
import { levenshtein, nearestName } from './nearest-name';

const names = Object.keys(AgentClientOptionsSchema.shape);
const word = fc.string({ maxLength: 12 });

describe('levenshtein', () => {
  it('is a metric: zero only for equal strings, symmetric, triangle inequality', () => {
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        expect(levenshtein(a, b) === 0).toBe(a === b);
        expect(levenshtein(a, b)).toBe(levenshtein(b, a));
        expect(levenshtein(a, c)).toBeLessThanOrEqual(levenshtein(a, b) + levenshtein(b, c));
      }),
    );
  });

  it('is at least the length difference and at most the longer length', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = levenshtein(a, b);
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });

  it('counts the classic examples', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('getAcessToken', 'getAccessToken')).toBe(1);
  });
});

describe('nearestName', () => {
  it('finds the option behind any one-character typo', () => {
    const typo = fc
      .record({
        name: fc.constantFrom(...names),
        at: fc.nat(),
        char: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
        edit: fc.constantFrom('insert', 'delete', 'replace'),
      })
      .map(({ name, at, char, edit }) => {
        const i = at % (name.length + (edit === 'insert' ? 1 : 0));
        const typo =
          edit === 'insert'
            ? name.slice(0, i) + char + name.slice(i)
            : edit === 'delete'
              ? name.slice(0, i) + name.slice(i + 1)
              : name.slice(0, i) + char + name.slice(i + 1);
        return { name, typo };
      })
      .filter(({ typo }) => !names.includes(typo));
    fc.assert(fc.property(typo, ({ name, typo }) => expect(nearestName(typo, names)).toBe(name)));
  });

  it('suggests nothing for a name unlike any option', () => {
    expect(nearestName('colour', names)).toBeUndefined();
    expect(nearestName('x', names)).toBeUndefined();
  });
});
