import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ERROR_CODES, statusOf } from './error-codes';
import { ErrorBodySchema } from './error-body';
import { LoginRequestSchema, TokenResponseSchema } from './sessions';
import {
  isWellFormedTicket,
  TicketExchangeResponseSchema,
  TicketResponseSchema,
  TICKET_BYTES,
} from './tickets';
import { AccessTokenClaimsSchema } from './access-token';
import { SessionRevokedMessageSchema } from './revocation';

/** RFC 7230 `token` characters: what a Sec-WebSocket-Protocol value may hold. */
const RFC7230_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

describe('error codes', () => {
  it('answer each contract code with the contract status', () => {
    const expected: Record<string, number> = {
      invalid_request: 400,
      unsupported_subprotocol: 400,
      invalid_credentials: 401,
      invalid_refresh_token: 401,
      refresh_token_reused: 401,
      invalid_token: 401,
      invalid_client: 401,
      ticket_required: 401,
      ticket_invalid: 403,
      origin_forbidden: 403,
      rate_limited: 429,
      unavailable: 503,
    };
    for (const [code, status] of Object.entries(expected)) {
      expect(statusOf(code as keyof typeof ERROR_CODES)).toBe(status);
    }
  });

  it('accepts the error body with a ticket_invalid reason and refuses a free-string code', () => {
    expect(
      ErrorBodySchema.safeParse({
        error: 'ticket_invalid',
        message: 'm',
        request_id: 'r',
        reason: 'already_used',
      }).success,
    ).toBe(true);
    expect(
      ErrorBodySchema.safeParse({ error: 'oops', message: 'm', request_id: 'r' }).success,
    ).toBe(false);
  });
});

describe('tickets', () => {
  it('are well-formed and valid subprotocol tokens for any 256 random bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: TICKET_BYTES, maxLength: TICKET_BYTES }), (bytes) => {
        const ticket = Buffer.from(bytes).toString('base64url');
        expect(isWellFormedTicket(ticket)).toBe(true);
        expect(RFC7230_TOKEN.test(`ticket.${ticket}`)).toBe(true);
      }),
    );
  });

  it('refuses short, padded or non-base64url tickets', () => {
    for (const bad of [
      'abc',
      randomBytes(32).toString('base64'),
      'x'.repeat(42),
      'a b'.repeat(20),
      42,
      null,
    ]) {
      expect(isWellFormedTicket(bad)).toBe(false);
    }
  });

  it('parse a ticket response and an exchange response', () => {
    const now = new Date().toISOString();
    expect(
      TicketResponseSchema.parse({
        ticket: randomBytes(32).toString('base64url'),
        expires_in: 30,
        expires_at: now,
      }),
    ).toBeTruthy();
    expect(
      TicketExchangeResponseSchema.parse({
        user: { id: 'u1', email: 'a@b.c', roles: ['user'] },
        session_id: 's1',
        auth_expires_at: now,
        ticket_issued_at: now,
      }).user.id,
    ).toBe('u1');
  });
});

describe('login request', () => {
  it('normalises the email and refuses a missing password', () => {
    expect(LoginRequestSchema.parse({ email: ' Demo@Example.COM ', password: 'p' }).email).toBe(
      'demo@example.com',
    );
    expect(LoginRequestSchema.safeParse({ email: 'demo@example.com' }).success).toBe(false);
    expect(LoginRequestSchema.safeParse({ email: 'not-an-email', password: 'p' }).success).toBe(
      false,
    );
  });

  it('refuses wrong types without throwing', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        (body) => typeof LoginRequestSchema.safeParse(body).success === 'boolean',
      ),
    );
  });
});

describe('token response, claims and revocation', () => {
  it('insists on token_type Bearer', () => {
    const body = {
      access_token: 'a',
      token_type: 'bearer',
      expires_in: 900,
      refresh_token: 'r',
      refresh_expires_in: 3600,
      user: { id: 'u', email: 'e', roles: [] },
    };
    expect(TokenResponseSchema.safeParse(body).success).toBe(false);
    expect(TokenResponseSchema.safeParse({ ...body, token_type: 'Bearer' }).success).toBe(true);
  });

  it('requires sid and jti in access-token claims', () => {
    const claims = {
      sub: 'u',
      sid: 's',
      roles: ['user'],
      iat: 1,
      exp: 2,
      iss: 'i',
      aud: 'a',
      jti: 'j',
    };
    expect(AccessTokenClaimsSchema.safeParse(claims).success).toBe(true);
    for (const name of ['sid', 'jti'] as const) {
      const { [name]: _left, ...without } = claims;
      expect(AccessTokenClaimsSchema.safeParse(without).success).toBe(false);
      expect(AccessTokenClaimsSchema.safeParse({ ...claims, [name]: undefined }).success).toBe(
        false,
      );
      expect(AccessTokenClaimsSchema.safeParse({ ...claims, [name]: '' }).success).toBe(false);
      expect(AccessTokenClaimsSchema.safeParse({ ...claims, [name]: 42 }).success).toBe(false);
    }
  });

  it('accepts a revocation with a known reason only', () => {
    const msg = {
      type: 'session_revoked',
      session_id: 's',
      user_id: 'u',
      reason: 'logout',
      revoked_at: new Date().toISOString(),
    };
    expect(SessionRevokedMessageSchema.safeParse(msg).success).toBe(true);
    expect(SessionRevokedMessageSchema.safeParse({ ...msg, reason: 'because' }).success).toBe(
      false,
    );
  });
});
