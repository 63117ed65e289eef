import fc from 'fast-check';
import { ownerOf, SideListener } from './split-listeners';

const internal: SideListener = { name: 'internal', port: 8181, prefixes: ['/internal'] };
const metrics: SideListener = { name: 'metrics', port: 9464, prefixes: ['/metrics', '/docs'] };
const listeners = [internal, metrics];

/** `segment` spelled as a client may: any letter case, any character percent-encoded. */
const spelled = (segment: string) =>
  fc
    .array(fc.tuple(fc.boolean(), fc.boolean()), {
      minLength: segment.length,
      maxLength: segment.length,
    })
    .map((choices) =>
      [...segment]
        .map((ch, i) => {
          const [upper, encoded] = choices[i];
          const c = upper ? ch.toUpperCase() : ch;
          return encoded ? `%${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c;
        })
        .join(''),
    );
const slashes = fc.integer({ min: 1, max: 3 }).map((n) => '/'.repeat(n));
const rest = fc.constantFrom('', '/', '/tickets/exchange', '/sessions/status', '/openapi.json');

describe('ownerOf', () => {
  it('gives every spelling of a private prefix to its listener', () => {
    const privatePath = fc
      .constantFrom(
        ['internal', internal] as const,
        ['metrics', metrics] as const,
        ['docs', metrics] as const,
      )
      .chain(([segment, owner]) =>
        fc
          .tuple(slashes, spelled(segment), rest)
          .map(([lead, word, tail]) => ({ path: `${lead}${word}${tail}`, owner })),
      );
    fc.assert(
      fc.property(privatePath, ({ path, owner }) => {
        expect({ path, owner: ownerOf(listeners, path)?.name }).toEqual({
          path,
          owner: owner.name,
        });
      }),
      { numRuns: 500 },
    );
  });

  it('leaves public routes, and names that only start like a private prefix, on the main port', () => {
    for (const path of [
      '/auth/login',
      '/websocket/ticket',
      '/.well-known/jwks.json',
      '/ws',
      '/health/ready',
      '/internals',
      '/metricsx',
      '/documents',
      '/',
    ])
      expect({ path, owner: ownerOf(listeners, path) }).toEqual({ path, owner: undefined });
  });
});
