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
