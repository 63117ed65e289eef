import { z } from 'zod';
import { EmailSchema, UserSchema } from './users';

export const PASSWORD_MAX_LENGTH = 1024;

/** `POST /auth/login` */
export const LoginRequestSchema = z.object({
  email: EmailSchema,
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

/** `POST /auth/refresh` */
export const RefreshRequestSchema = z.object({
  refresh_token: z.string().min(1).max(512),
});
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

/** 200 of `POST /auth/login` and `POST /auth/refresh`. */
export const TokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().positive(),
  refresh_token: z.string(),
  refresh_expires_in: z.number().int().positive(),
  user: UserSchema,
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** 200 of `GET /auth/me`. */
export const MeResponseSchema = UserSchema;
export type MeResponse = z.infer<typeof MeResponseSchema>;

/** RFC 8693 names used by `POST /auth/token-exchange`. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const SUBJECT_TOKEN_TYPES = [
  'urn:ietf:params:oauth:token-type:id_token',
  'urn:ietf:params:oauth:token-type:jwt',
] as const;
export const ISSUED_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * `POST /auth/token-exchange`, shaped after RFC 8693 (as JSON): an ID token,
 * or a JWT access token, from a configured OpenID provider in exchange for
 * an AdmitOne session.
 */
export const TokenExchangeRequestSchema = z.object({
  grant_type: z.literal(TOKEN_EXCHANGE_GRANT_TYPE),
  subject_token: z.string().min(1).max(16_384),
  subject_token_type: z.enum(SUBJECT_TOKEN_TYPES),
  requested_token_type: z.literal(ISSUED_TOKEN_TYPE).optional(),
});
export type TokenExchangeRequest = z.infer<typeof TokenExchangeRequestSchema>;

/** 200 of `POST /auth/token-exchange`: a login's answer, and the RFC 8693 token type. */
export const TokenExchangeResponseSchema = TokenResponseSchema.extend({
  issued_token_type: z.literal(ISSUED_TOKEN_TYPE),
});
export type TokenExchangeResponse = z.infer<typeof TokenExchangeResponseSchema>;
