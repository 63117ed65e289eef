/**
 * Single-flight token refresh, within a tab and across the tabs of one
 * origin. Refresh tokens rotate: two tabs refreshing with the same token at
 * the same moment look like theft to the server, which revokes the session
 * (outside its short reuse interval). So:
 * - within a tab, concurrent callers share one refresh (one promise);
 * - across tabs, the refresh runs under a Web Lock (`navigator.locks`), so
 *   only one tab refreshes at a time; a tab that waited for the lock READS
 *   THE SHARED STORE AGAIN and uses what the other tab saved if the refresh
 *   token there changed, instead of presenting the old one a second time.
 * Where Web Locks are missing (old browsers, Node) only the in-tab
 * single-flight applies. Either way the server's refresh reuse interval
 * stays the backstop: Chromium's localStorage is only eventually consistent
 * across tabs, so a tab granted the lock can, for a moment, still read the
 * token the previous holder just replaced; presented again within the
 * interval, it is answered with the same successor, not a revocation.
 */

/** The part of the Web Locks API used here (`navigator.locks` fits). */
export interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}

export interface SharedRefreshOptions<T> {
  /** Reads the tokens every tab shares (e.g. from localStorage); null when logged out. */
  load: () => T | null | Promise<T | null>;
  /** True when these tokens must be refreshed before use. */
  needsRefresh: (tokens: T) => boolean;
  /** The refresh token inside `tokens`: when it changed, another tab has refreshed. */
  refreshTokenOf: (tokens: T) => string;
  /** Refreshes with these tokens, saves the result where `load` reads it, and returns it. */
  refresh: (tokens: T) => Promise<T>;
  /** The lock's name: the same in every tab of the app. */
  lockName?: string;
  /** Cross-tab lock. Default: `navigator.locks` when present; null: in-tab single-flight only. */
  locks?: LockManagerLike | null;
}

export const DEFAULT_REFRESH_LOCK_NAME = 'admitone.refresh';

export function webLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : null;
}

/**
 * Returns a function that yields usable tokens (refreshed first when
 * `needsRefresh` says so), or null when logged out. Call it wherever an
 * access token is needed, e.g. in `getAccessToken`.
 */
export function createSharedRefresh<T>(options: SharedRefreshOptions<T>): () => Promise<T | null> {
  const lockName = options.lockName ?? DEFAULT_REFRESH_LOCK_NAME;
  const locks = options.locks === undefined ? webLocks() : options.locks;
  let inFlight: Promise<T | null> | undefined;

  const refreshOnce = async (seen: T): Promise<T | null> => {
    // Under the lock: another tab may have refreshed while this one waited.
    const now = await options.load();
    if (now === null) return null;
    if (options.refreshTokenOf(now) !== options.refreshTokenOf(seen) || !options.needsRefresh(now))
      return now;
    return options.refresh(now);
  };

  return async () => {
    const tokens = await options.load();
    if (tokens === null || !options.needsRefresh(tokens)) return tokens;
    inFlight ??= (
      locks ? locks.request(lockName, () => refreshOnce(tokens)) : refreshOnce(tokens)
    ).finally(() => (inFlight = undefined));
    return inFlight;
  };
}
