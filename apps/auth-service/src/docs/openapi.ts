import {
  ErrorBodySchema,
  HealthResponseSchema,
  JwksSchema,
  LoginRequestSchema,
  MeResponseSchema,
  RefreshRequestSchema,
  SessionStatusRequestSchema,
  SessionStatusResponseSchema,
  TicketExchangeRequestSchema,
  TicketExchangeResponseSchema,
  TicketResponseSchema,
  TokenExchangeRequestSchema,
  TokenExchangeResponseSchema,
  TokenResponseSchema,
  SESSION_STATUS_MAX_BODY_BYTES,
  SESSION_STATUS_MAX_IDS,
} from '@admitone/auth-contracts';
import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * The OpenAPI document is generated from the same zod schemas the service
 * validates with, so it cannot drift from the code. Served at /docs.
 */
const schema = (s: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;

const json = (s: z.ZodType, io: 'input' | 'output' = 'output') => ({
  content: { 'application/json': { schema: schema(s, io) } },
});
const error = (description: string) => ({ description, ...json(ErrorBodySchema) });

export function buildOpenApiDocument(): OpenAPIObject {
  const bearer = [{ bearer: [] }];
  const service = [{ serviceKey: [] }];
  return {
    openapi: '3.0.3',
    info: {
      title: 'AdmitOne auth-service',
      version: '1',
      description:
        'Users, sessions, JWTs, single-use WebSocket tickets and the context exchange (wire contract v1, section 2).',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        serviceKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A key from EXCHANGE_CLIENT_KEYS',
        },
      },
    },
    paths: {
      '/auth/login': {
        post: {
          summary: 'Log in',
          requestBody: { required: true, ...json(LoginRequestSchema, 'input') },
          responses: {
            200: { description: 'Tokens', ...json(TokenResponseSchema) },
            400: error('invalid_request'),
            401: error('invalid_credentials'),
            429: error('rate_limited (Retry-After set)'),
          },
        },
      },
      '/auth/refresh': {
        post: {
          summary: 'Rotate a refresh token',
          requestBody: { required: true, ...json(RefreshRequestSchema, 'input') },
          responses: {
            200: {
              description:
                'Tokens; the old refresh token is dead. Presented again within ' +
                'REFRESH_REUSE_INTERVAL_SECONDS of its rotation (while its successor is unused), ' +
                'it answers the same refresh token again instead of revoking',
              ...json(TokenResponseSchema),
            },
            401: error('invalid_refresh_token, or refresh_token_reused (the session is revoked)'),
          },
        },
      },
      '/auth/token-exchange': {
        post: {
          summary:
            "Sign in with an OpenID provider's ID token or JWT access token (RFC 8693 token exchange, as JSON)",
          requestBody: { required: true, ...json(TokenExchangeRequestSchema, 'input') },
          responses: {
            200: { description: 'Tokens for a new session', ...json(TokenExchangeResponseSchema) },
            400: error('invalid_request'),
            401: error('invalid_subject_token, with a reason naming the failed check'),
            403: error('user_disabled'),
            409: error(
              'identity_conflict: the email belongs to an account not linked to this identity',
            ),
            429: error('rate_limited (Retry-After set)'),
            503: error('unavailable: the provider’s discovery or JWKS cannot be fetched'),
          },
        },
      },
      '/auth/logout': {
        post: {
          summary: 'Revoke the session',
          security: bearer,
          responses: { 204: { description: 'Revoked' }, 401: error('invalid_token') },
        },
      },
      '/auth/me': {
        get: {
          summary: 'The current user',
          security: bearer,
          responses: {
            200: { description: 'User', ...json(MeResponseSchema) },
            401: error('invalid_token'),
          },
        },
      },
      '/websocket/ticket': {
        post: {
          summary: 'Issue a single-use WebSocket ticket (bound to the Origin, when sent)',
          security: bearer,
          responses: {
            201: { description: 'Ticket', ...json(TicketResponseSchema) },
            401: error('invalid_token'),
            429: error('rate_limited'),
          },
        },
      },
      '/internal/tickets/exchange': {
        post: {
          summary: 'Consume a ticket, exactly once, for its user context',
          security: service,
          requestBody: { required: true, ...json(TicketExchangeRequestSchema, 'input') },
          responses: {
            200: { description: 'User context', ...json(TicketExchangeResponseSchema) },
            401: error('invalid_client'),
            403: error('ticket_invalid, with reason'),
            503: error('unavailable'),
          },
        },
      },
      '/internal/sessions/status': {
        post: {
          summary: 'Which of these sessions are no longer active',
          description: `At most ${SESSION_STATUS_MAX_IDS} ids and ${SESSION_STATUS_MAX_BODY_BYTES} bytes of JSON per request.`,
          security: service,
          requestBody: { required: true, ...json(SessionStatusRequestSchema, 'input') },
          responses: {
            200: { description: 'Inactive sessions', ...json(SessionStatusResponseSchema) },
            400: error('invalid_request'),
            401: error('invalid_client'),
          },
        },
      },
      '/.well-known/jwks.json': {
        get: {
          summary: 'Public keys that verify access tokens',
          responses: { 200: { description: 'JWKS', ...json(JwksSchema) } },
        },
      },
      '/health/live': {
        get: {
          summary: 'Liveness',
          responses: { 200: { description: 'Alive', ...json(HealthResponseSchema) } },
        },
      },
      '/health/ready': {
        get: {
          summary: 'Readiness (Redis checked)',
          responses: {
            200: { description: 'Ready', ...json(HealthResponseSchema) },
            503: { description: 'Not ready', ...json(HealthResponseSchema) },
          },
        },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text format' } } },
      },
    },
  } as OpenAPIObject;
}
