/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"): the delay of attempt n is uniform in
 * [0, min(maxMs, initialMs * 2^n)]. Full jitter spreads a crowd of clients
 * that lost the same gateway over the whole window instead of letting them
 * return in synchronised waves.
 */
export interface BackoffConfig {
  initialMs: number;
  maxMs: number;
}

/** Upper bound of the delay of `attempt` (0-based). */
export function backoffCeiling(attempt: number, { initialMs, maxMs }: BackoffConfig): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** n overflows to Infinity for large n; the cap still holds.
  return Math.min(maxMs, initialMs * 2 ** n);
}

/** A delay in [0, backoffCeiling(attempt)], whole milliseconds. */
export function backoffDelay(
  attempt: number,
  config: BackoffConfig,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(attempt, config);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(ceiling, Math.floor(r * (ceiling + 1)));
}

/** "Reconnect at once": a tiny jitter so a drained crowd does not arrive in one instant. */
export const IMMEDIATE_JITTER_MS = 100;

export function immediateDelay(config: BackoffConfig, random: () => number = Math.random): number {
  return backoffDelay(
    0,
    { initialMs: Math.min(config.initialMs, IMMEDIATE_JITTER_MS), maxMs: IMMEDIATE_JITTER_MS },
    random,
  );
}
