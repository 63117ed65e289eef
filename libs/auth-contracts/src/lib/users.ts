import { z } from 'zod';

export const ROLE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export const EmailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email());

export const RoleSchema = z.string().regex(ROLE_PATTERN);

/** The user context: what `/auth/me`, login and the exchange return. */
export const UserSchema = z.object({
  id: z.string().min(1).max(128),
  email: z.string(),
  roles: z.array(RoleSchema),
});
export type User = z.infer<typeof UserSchema>;
