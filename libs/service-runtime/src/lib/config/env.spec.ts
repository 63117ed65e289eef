import { z } from 'zod';
import {
  allowedOriginsSchema,
  ConfigError,
  loadConfig,
  NodeEnvSchema,
  portSchema,
  rateLimitSchema,
  RedisUrlSchema,
  refuseInsecureProductionDefaults,
} from './env';

const schema = z
  .object({
    NODE_ENV: NodeEnvSchema,
    PORT: portSchema(8081),
    REDIS_URL: RedisUrlSchema,
    ALLOWED_ORIGINS: allowedOriginsSchema('http://localhost:4200'),
    LOGIN_RATE_LIMIT: rateLimitSchema('10/60s'),
  })
  .superRefine(refuseInsecureProductionDefaults);

describe('loadConfig', () => {
  it('applies defaults', () => {
    expect(loadConfig(schema, {})).toEqual({
      NODE_ENV: 'development',
      PORT: 8081,
      REDIS_URL: undefined,
      ALLOWED_ORIGINS: ['http://localhost:4200'],
      LOGIN_RATE_LIMIT: { points: 10, durationSeconds: 60 },
    });
  });

  it('parses rate limits written COUNT/SECONDSs', () => {
    expect(loadConfig(schema, { LOGIN_RATE_LIMIT: '5/30s' }).LOGIN_RATE_LIMIT).toEqual({
      points: 5,
      durationSeconds: 30,
    });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOGIN_RATE_LIMIT', '10 per minute'],
    ['LOGIN_RATE_LIMIT', '0/60s'],
    ['ALLOWED_ORIGINS', 'https://ok.example,not an origin'],
    ['ALLOWED_ORIGINS', 'https://app.example.com/path'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
  ])('stops with a message naming %s for %j', (variable, value) => {
    expect(() => loadConfig(schema, { [variable]: value })).toThrow(
      new RegExp(`^Invalid configuration:\\n  ${variable}: `),
    );
  });

  it('normalises origins', () => {
    expect(
      loadConfig(schema, { ALLOWED_ORIGINS: 'HTTPS://App.Example.com:443, http://localhost:4200/' })
        .ALLOWED_ORIGINS,
    ).toEqual(['https://app.example.com', 'http://localhost:4200']);
  });

  it('refuses in-memory stores and * origins in production, naming both variables', () => {
    try {
      loadConfig(schema, { NODE_ENV: 'production', ALLOWED_ORIGINS: '*' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
        'ALLOWED_ORIGINS',
        'REDIS_URL',
      ]);
    }
  });

  it('refuses plain http origins, the development default included, in production', () => {
    for (const env of [{}, { ALLOWED_ORIGINS: 'https://app.example.com,http://app.example.com' }]) {
      expect(() =>
        loadConfig(schema, { NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', ...env }),
      ).toThrow(/ALLOWED_ORIGINS: plain http origins are refused in production/);
    }
    expect(
      loadConfig(schema, {
        NODE_ENV: 'production',
        REDIS_URL: 'redis://r:6379',
        ALLOWED_ORIGINS: 'https://app.example.com',
      }).ALLOWED_ORIGINS,
    ).toEqual(['https://app.example.com']);
  });

  it('never echoes the rejected value, which may be a secret', () => {
    expect(() => loadConfig(schema, { REDIS_URL: 'http://user:hunter2@host' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });
});
