import { EmailSchema, ROLE_PATTERN } from '@admitone/auth-contracts';

export interface SeedUser {
  email: string;
  password: string;
  roles: string[];
}

/**
 * `SEED_USERS`: `email:password[:role|role],...`. A password may itself hold
 * `:`; the last segment is read as roles only when every part of it is a role.
 * Errors name the entry by position, never by its password.
 */
export function parseSeedUsers(raw: string | undefined): SeedUser[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const first = entry.indexOf(':');
      if (first <= 0)
        throw new Error(`SEED_USERS: entry ${index + 1} is not email:password[:roles]`);
      const email = EmailSchema.safeParse(entry.slice(0, first));
      if (!email.success) throw new Error(`SEED_USERS: entry ${index + 1} has an invalid email`);
      let password = entry.slice(first + 1);
      let roles = ['user'];
      const last = password.lastIndexOf(':');
      if (last >= 0) {
        const maybeRoles = password.slice(last + 1).split('|');
        if (maybeRoles.every((r) => ROLE_PATTERN.test(r))) {
          roles = maybeRoles;
          password = password.slice(0, last);
        }
      }
      if (!password) throw new Error(`SEED_USERS: entry ${index + 1} has an empty password`);
      return { email: email.data, password, roles };
    });
}
