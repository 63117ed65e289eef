import fc from 'fast-check';
import { backoffCeiling, backoffDelay, IMMEDIATE_JITTER_MS, immediateDelay } from './backoff';

const config = fc
  .record({
    initialMs: fc.integer({ min: 1, max: 60_000 }),
    extra: fc.integer({ min: 0, max: 10_000_000 }),
  })
  .map(({ initialMs, extra }) => ({ initialMs, maxMs: initialMs + extra }));
const attempt = fc.integer({ min: 0, max: 2000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoff with full jitter', () => {
  it('keeps every delay within [0, min(maxMs, initialMs * 2^attempt)]', () => {
    fc.assert(
      fc.property(config, attempt, random, (c, n, r) => {
        const delay = backoffDelay(n, c, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(c.maxMs, c.initialMs * 2 ** n));
      }),
    );
  });

  it('never exceeds the cap, however many attempts failed', () => {
    fc.assert(
      fc.property(config, fc.integer({ min: 0, max: 1_000_000 }), random, (c, n, r) => {
        expect(backoffCeiling(n, c)).toBeLessThanOrEqual(c.maxMs);
        expect(backoffDelay(n, c, () => r)).toBeLessThanOrEqual(c.maxMs);
      }),
    );
  });

  it('grows the ceiling exponentially until the cap', () => {
    fc.assert(
      fc.property(config, attempt, (c, n) => {
        const here = backoffCeiling(n, c);
        const next = backoffCeiling(n + 1, c);
        expect(next).toBe(Math.min(c.maxMs, here * 2));
      }),
    );
    expect(
      [0, 1, 2, 3, 4, 5].map((n) => backoffCeiling(n, { initialMs: 100, maxMs: 1000 })),
    ).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('uses the whole window (full jitter), from 0 up to the ceiling', () => {
    const c = { initialMs: 100, maxMs: 10_000 };
    expect(backoffDelay(3, c, () => 0)).toBe(0);
    expect(backoffDelay(3, c, () => 0.999999999)).toBe(800);
    expect(backoffDelay(3, c, () => 1)).toBe(800);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(3, c));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(300);
    expect(mean).toBeLessThan(500);
    expect(Math.min(...samples)).toBeLessThan(80);
    expect(Math.max(...samples)).toBeGreaterThan(720);
  });

  it('treats a negative or fractional attempt as its floor, at least 0', () => {
    const c = { initialMs: 100, maxMs: 1000 };
    expect(backoffCeiling(-3, c)).toBe(100);
    expect(backoffCeiling(1.7, c)).toBe(200);
  });

  it('reconnects "at once" within a tiny jitter', () => {
    fc.assert(
      fc.property(config, random, (c, r) => {
        const delay = immediateDelay(c, () => r);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(c.initialMs, IMMEDIATE_JITTER_MS));
      }),
    );
  });
});
