import { GatewayConfigSchema } from './gateway-config';

/** A production environment that passes every other production rule. */
const production = {
  NODE_ENV: 'production',
  REDIS_URL: 'redis://127.0.0.1:6379',
  ALLOWED_ORIGINS: 'https://app.example.com',
  EXCHANGE_CLIENT_KEY: 'k'.repeat(32),
};

const problemsOf = (env: Record<string, string>) => {
  const parsed = GatewayConfigSchema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
};

describe('AUTH_SERVICE_URL in production', () => {
  it.each(['http://auth-service:8081', 'HTTP://auth-service:8081'])(
    'refuses the plain http URL %s (tickets and the service key would travel in clear)',
    (url) => {
      expect(problemsOf({ ...production, AUTH_SERVICE_URL: url })).toEqual(['AUTH_SERVICE_URL']);
    },
  );

  it('refuses the http development default when AUTH_SERVICE_URL is unset', () => {
    expect(problemsOf(production)).toEqual(['AUTH_SERVICE_URL']);
  });

  it('accepts https', () => {
    expect(problemsOf({ ...production, AUTH_SERVICE_URL: 'https://auth.example.com' })).toEqual([]);
  });

  it('accepts http only with the explicit AUTH_SERVICE_ALLOW_HTTP=true opt-in', () => {
    const env = { ...production, AUTH_SERVICE_URL: 'http://auth-service:8081' };
    expect(problemsOf({ ...env, AUTH_SERVICE_ALLOW_HTTP: 'true' })).toEqual([]);
    expect(problemsOf({ ...env, AUTH_SERVICE_ALLOW_HTTP: 'false' })).toEqual(['AUTH_SERVICE_URL']);
    expect(problemsOf({ ...env, AUTH_SERVICE_ALLOW_HTTP: 'yes' })).toEqual([
      'AUTH_SERVICE_ALLOW_HTTP',
    ]);
  });

  it('leaves development and test on http', () => {
    expect(problemsOf({ NODE_ENV: 'development' })).toEqual([]);
    expect(problemsOf({ NODE_ENV: 'test', AUTH_SERVICE_URL: 'http://127.0.0.1:1' })).toEqual([]);
  });
});
