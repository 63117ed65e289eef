import WebSocket from 'ws';
import {
  AgentClientOptionsError,
  AgentClientOptionsSchema,
  resolveOptions,
} from './client-options';

const valid = {
  authUrl: 'http://127.0.0.1:8081',
  gatewayUrl: 'ws://127.0.0.1:8080/ws',
  getAccessToken: () => 'token',
  WebSocket,
  fetch,
};

function problemsOf(options: unknown): string[] {
  try {
    resolveOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(AgentClientOptionsError);
    return (error as AgentClientOptionsError).problems;
  }
  throw new Error('expected the options to be refused');
}

describe('client options', () => {
  it('names the nearest valid option for a misspelt one, and does not also call it missing', () => {
    const { getAccessToken, ...rest } = valid;
    expect(() => resolveOptions({ ...rest, getAcessToken: getAccessToken })).toThrow(
      "unknown option 'getAcessToken'; did you mean 'getAccessToken'?",
    );
    expect(problemsOf({ ...rest, getAcessToken: getAccessToken })).toEqual([
      "unknown option 'getAcessToken'; did you mean 'getAccessToken'?",
    ]);
  });

  it.each([
    ['gatewayURL', 'gatewayUrl'],
    ['authurl', 'authUrl'],
    ['websocket', 'WebSocket'],
    ['renewBeforMs', 'renewBeforeMs'],
    ['backof', 'backoff'],
    ['onStateChanged', 'onStateChange'],
    ['carier', 'carrier'],
    ['loger', 'logger'],
    ['providerTokentype', 'providerTokenType'],
  ])('suggests %s -> %s', (typo, meant) => {
    expect(problemsOf({ ...valid, [typo]: undefined })[0]).toBe(
      `unknown option '${typo}'; did you mean '${meant}'?`,
    );
  });

  it('suggests within nested options', () => {
    expect(problemsOf({ ...valid, backoff: { intialMs: 100 } })).toEqual([
      "unknown option 'backoff.intialMs'; did you mean 'backoff.initialMs'?",
    ]);
  });

  it('lists the valid options when nothing is close', () => {
    const [problem] = problemsOf({ ...valid, colour: 'blue' });
    expect(problem).toMatch(/^unknown option 'colour'; valid options are authUrl, gatewayUrl,/);
  });

  it.each([
    [{ renewBeforeMs: '60000' }, 'renewBeforeMs'],
    [{ renewBeforeMs: -1 }, 'renewBeforeMs'],
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ carrier: 'header' }, 'carrier'],
    [{ getAccessToken: 'a-token' }, 'getAccessToken'],
    [{ WebSocket: {} }, 'WebSocket'],
    [{ fetch: 'fetch' }, 'fetch'],
    [{ onStateChange: true }, 'onStateChange'],
    [{ logger: 5 }, 'logger'],
    [{ getAccessToken: undefined, getProviderToken: 'an-id-token' }, 'getProviderToken'],
    [
      { getAccessToken: undefined, getProviderToken: () => 't', providerTokenType: 'saml' },
      'providerTokenType',
    ],
    [{ authUrl: 'ftp://auth.example.com' }, 'authUrl'],
    [{ authUrl: 'not a url' }, 'authUrl'],
    [{ gatewayUrl: 'file:///ws' }, 'gatewayUrl'],
    [{ backoff: { initialMs: 1000, maxMs: 10 } }, 'backoff.maxMs'],
    [{ backoff: { initialMs: 1.5 } }, 'backoff.initialMs'],
    [{ backoff: 'fast' }, 'backoff'],
  ])('names the option of a wrong value: %j', (override, name) => {
    const problems = problemsOf({ ...valid, ...override });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^invalid option '${name.replace('.', '\\.')}': `));
  });

  it('names missing required options', () => {
    expect(problemsOf({ WebSocket })).toEqual([
      "missing required option 'authUrl'",
      "missing required option 'gatewayUrl'",
      "missing required option 'getAccessToken' (or 'getProviderToken')",
    ]);
    expect(() => resolveOptions(undefined)).toThrow(AgentClientOptionsError);
  });

  it('accepts valid options and fills the defaults', () => {
    const resolved = resolveOptions({ ...valid, authUrl: 'https://auth.example.com/' });
    expect(resolved).toMatchObject({
      authUrl: 'https://auth.example.com',
      gatewayUrl: 'ws://127.0.0.1:8080/ws',
      carrier: 'subprotocol',
      backoff: { initialMs: 500, maxMs: 30_000 },
      renewBeforeMs: 60_000,
      connectTimeoutMs: 10_000,
    });
    expect(resolved.WebSocket).toBe(WebSocket);
    expect(() =>
      resolveOptions({ ...valid, gatewayUrl: 'https://gw.example.com/ws' }),
    ).not.toThrow();
    expect(resolveOptions({ ...valid, gatewayUrl: 'https://gw.example.com/ws' }).gatewayUrl).toBe(
      'wss://gw.example.com/ws',
    );
    expect(
      resolveOptions({
        ...valid,
        carrier: 'query',
        backoff: { initialMs: 100 },
        renewBeforeMs: 0,
        onStateChange: () => undefined,
        logger: console,
      }),
    ).toMatchObject({ carrier: 'query', backoff: { initialMs: 100, maxMs: 30_000 } });
  });

  it('uses the global WebSocket and fetch by default, and says what to pass when there is none', () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    try {
      Object.defineProperty(globalThis, 'WebSocket', { value: WebSocket, configurable: true });
      const { WebSocket: _ws, fetch: _fetch, ...bare } = valid;
      const resolved = resolveOptions(bare);
      expect(resolved.WebSocket).toBe(WebSocket);
      expect(typeof resolved.fetch).toBe('function');
      Object.defineProperty(globalThis, 'WebSocket', { value: undefined, configurable: true });
      expect(() => resolveOptions(bare)).toThrow(
        /missing required option 'WebSocket'.*pass `WebSocket` from the 'ws' package/,
      );
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
      else delete (globalThis as { WebSocket?: unknown }).WebSocket;
    }
  });

  it('knows every option the schema knows', () => {
    expect(Object.keys(AgentClientOptionsSchema.shape).sort()).toEqual(
      [
        'authUrl',
        'gatewayUrl',
        'getAccessToken',
        'getProviderToken',
        'providerTokenType',
        'carrier',
        'WebSocket',
        'fetch',
        'backoff',
        'renewBeforeMs',
        'connectTimeoutMs',
        'onStateChange',
        'logger',
      ].sort(),
    );
  });

  describe('signing in with a provider token', () => {
    const { getAccessToken: _unused, ...withoutToken } = valid;
    const getProviderToken = () => 'an-id-token';

    it('takes getProviderToken instead of getAccessToken, an ID token by default', () => {
      expect(resolveOptions({ ...withoutToken, getProviderToken }).identity).toEqual({
        kind: 'provider_token',
        getProviderToken,
        providerTokenType: 'id_token',
      });
      expect(
        resolveOptions({ ...withoutToken, getProviderToken, providerTokenType: 'jwt' }).identity,
      ).toMatchObject({ kind: 'provider_token', providerTokenType: 'jwt' });
      expect(resolveOptions(valid).identity).toEqual({
        kind: 'access_token',
        getAccessToken: valid.getAccessToken,
      });
    });

    it('names getProviderToken for a misspelling, and does not also call the way in missing', () => {
      expect(problemsOf({ ...withoutToken, getProvidertoken: getProviderToken })).toEqual([
        "unknown option 'getProvidertoken'; did you mean 'getProviderToken'?",
      ]);
      expect(problemsOf({ ...withoutToken, getProviderTokens: getProviderToken })).toEqual([
        "unknown option 'getProviderTokens'; did you mean 'getProviderToken'?",
      ]);
    });

    it('refuses both ways in at once, and providerTokenType without getProviderToken', () => {
      expect(problemsOf({ ...valid, getProviderToken })).toEqual([
        "options 'getAccessToken' and 'getProviderToken' exclude each other; give one",
      ]);
      expect(problemsOf({ ...valid, providerTokenType: 'jwt' })).toEqual([
        "option 'providerTokenType' needs 'getProviderToken'",
      ]);
    });
  });
});
