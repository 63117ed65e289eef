import { createSharedRefresh } from './shared-refresh';

/**
 * The in-tab half of the single-flight refresh (`locks: null`, as where Web
 * Locks are missing). The cross-tab half, on Chromium's real Web Locks, is
 * apps/e2e/src/browser/two-tabs.spec.ts.
 */
interface Tokens {
  access: string;
  refresh: string;
  fresh: boolean;
}

function tab(store: { tokens: Tokens | null }) {
  let refreshes = 0;
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const get = createSharedRefresh<Tokens>({
    locks: null,
    load: () => store.tokens,
    needsRefresh: (t) => !t.fresh,
    refreshTokenOf: (t) => t.refresh,
    refresh: async (t) => {
      refreshes++;
      await gate;
      if (t.refresh === 'dead') throw new Error('refused');
      store.tokens = { access: `a${refreshes}`, refresh: `r${refreshes}`, fresh: true };
      return store.tokens;
    },
  });
  return {
    get,
    refreshes: () => refreshes,
    hold() {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe('createSharedRefresh (in one tab)', () => {
  it('returns stored tokens that need no refresh, and null when logged out', async () => {
    const store = { tokens: { access: 'a0', refresh: 'r0', fresh: true } as Tokens | null };
    const t = tab(store);
    expect(await t.get()).toEqual({ access: 'a0', refresh: 'r0', fresh: true });
    store.tokens = null;
    expect(await t.get()).toBeNull();
    expect(t.refreshes()).toBe(0);
  });

  it('shares one refresh among concurrent callers, then refreshes again when needed', async () => {
    const store = { tokens: { access: 'a0', refresh: 'r0', fresh: false } as Tokens | null };
    const t = tab(store);
    t.hold();
    const callers = Array.from({ length: 5 }, () => t.get());
    t.release();
    const results = await Promise.all(callers);
    expect(t.refreshes()).toBe(1);
    for (const r of results) expect(r).toEqual({ access: 'a1', refresh: 'r1', fresh: true });

    store.tokens = { ...(store.tokens as Tokens), fresh: false };
    expect(await t.get()).toEqual({ access: 'a2', refresh: 'r2', fresh: true });
    expect(t.refreshes()).toBe(2);
  });

  it('hands a failed refresh to every waiting caller, and the next call tries afresh', async () => {
    const store = { tokens: { access: 'a0', refresh: 'dead', fresh: false } as Tokens | null };
    const t = tab(store);
    const outcomes = await Promise.allSettled([t.get(), t.get()]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(t.refreshes()).toBe(1);
    store.tokens = { access: 'a0', refresh: 'r0', fresh: false };
    expect(await t.get()).toEqual({ access: 'a2', refresh: 'r2', fresh: true });
  });
});
