import {
  SESSION_ID_MAX_CHARS,
  SESSION_STATUS_MAX_BODY_BYTES,
  SESSION_STATUS_MAX_IDS,
  SessionStatusRequestSchema,
} from '@admitone/auth-contracts';
import fc from 'fast-check';
import { sessionChunks } from './revocation.listener';

/**
 * The re-check's requests stay under both documented limits of
 * POST /internal/sessions/status, whatever the ids look like, and together
 * carry every id once, in order.
 */
describe('sessionChunks', () => {
  const idArb = fc.oneof(
    fc.uuid(),
    fc.string({ minLength: 1, maxLength: SESSION_ID_MAX_CHARS }),
    fc.string({
      unit: fc.constantFrom('"', '\\', '\u2028', 'é', '𝄞'),
      minLength: 1,
      maxLength: 32,
    }),
  );

  it('splits ids into requests within the id count and the body size', () => {
    fc.assert(
      fc.property(fc.array(idArb, { maxLength: 3 * SESSION_STATUS_MAX_IDS }), (ids) => {
        const chunks = sessionChunks(ids);
        expect(chunks.flat()).toEqual(ids);
        for (const chunk of chunks) {
          const body = { session_ids: chunk };
          expect(chunk.length).toBeGreaterThan(0);
          expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(
            SESSION_STATUS_MAX_BODY_BYTES,
          );
          expect(SessionStatusRequestSchema.safeParse(body).success).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('fills a request with the maximum number of the longest ids', () => {
    const longest = Array.from({ length: 2 * SESSION_STATUS_MAX_IDS + 1 }, (_, i) =>
      String(i).padEnd(SESSION_ID_MAX_CHARS, 'x'),
    );
    expect(sessionChunks(longest).map((c) => c.length)).toEqual([
      SESSION_STATUS_MAX_IDS,
      SESSION_STATUS_MAX_IDS,
      1,
    ]);
  });
});
