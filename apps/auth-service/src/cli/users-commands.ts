import { parseArgs } from 'node:util';
import { EmailSchema, PASSWORD_MAX_LENGTH, RoleSchema } from '@admitone/auth-contracts';
import { SessionsService } from '../sessions/sessions.service';
import { UserRecord } from '../users/user-store';
import { UsersService } from '../users/users.service';

/**
 * The users CLI's commands: parsed from argv (bad input is a UsageError,
 * exit 2), then run against the service's own UsersService and
 * SessionsService. Results are JSON lines on stdout; a user is printed
 * without its password hash, and the password itself is never printed.
 */
export const USAGE = `Usage: npm run users -- <command>

  add <email> [--role <role>]...   create a user (role "user" unless given); the password
                                   is read from USER_PASSWORD or the first line of stdin
  disable <email>                  disable a user and revoke all of its sessions
  enable <email>                   enable a disabled user
  list                             print every user
  migrate                          bring the accounts database (DATABASE_URL) to the
                                   latest schema version and print what was applied

Needs REDIS_URL (and REDIS_PREFIX if the service uses one) for sessions, and
DATABASE_URL where accounts live in PostgreSQL (always in production); migrate
needs only DATABASE_URL. Prints one JSON line per user. Exit codes: 0 ok,
1 failure, 2 usage.
`;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export type UsersCommand =
  | { name: 'help' }
  | { name: 'list' }
  | { name: 'migrate' }
  | { name: 'add'; email: string; roles: string[] }
  | { name: 'disable' | 'enable'; email: string };

export function parseUsersCommand(argv: string[]): UsersCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        role: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  if (values.help) return { name: 'help' };
  const [name, ...operands] = positionals;
  if (!name) throw new UsageError('no command given');
  if (values.role && name !== 'add') throw new UsageError('--role is only for add');
  const expectOperands = (count: number) => {
    if (operands.length !== count)
      throw new UsageError(`${name} takes ${count === 0 ? 'no arguments' : 'an email'}`);
  };
  switch (name) {
    case 'list':
    case 'migrate':
      expectOperands(0);
      return { name };
    case 'add': {
      expectOperands(1);
      const roles = [...new Set(values.role ?? ['user'])];
      for (const role of roles)
        if (!RoleSchema.safeParse(role).success)
          throw new UsageError(`"${role.slice(0, 40)}" is not a role (a-z, 0-9, _ and -)`);
      return { name, email: parseEmail(operands[0]), roles };
    }
    case 'disable':
    case 'enable':
      expectOperands(1);
      return { name, email: parseEmail(operands[0]) };
    default:
      throw new UsageError(`unknown command "${name.slice(0, 40)}"`);
  }
}

function parseEmail(raw: string): string {
  const email = EmailSchema.safeParse(raw);
  if (!email.success) throw new UsageError(`"${raw.slice(0, 80)}" is not an email address`);
  return email.data;
}

/** Refuses what could never log in: an empty password or one longer than login accepts. */
export function checkPassword(password: string): string {
  if (!password) throw new UsageError('no password given (set USER_PASSWORD or pipe it on stdin)');
  if (password.length > PASSWORD_MAX_LENGTH)
    throw new UsageError(`the password is longer than ${PASSWORD_MAX_LENGTH} characters`);
  return password;
}

export interface CommandContext {
  users: UsersService;
  sessions: SessionsService;
  /** The new user's password, for `add` (already checked with checkPassword). */
  password?: string;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A user as the CLI prints it: everything but the password hash. */
export function printable(user: UserRecord) {
  return {
    id: user.id,
    email: user.email,
    roles: user.roles,
    disabled: user.disabled,
    created_at: user.created_at,
  };
}

export async function runUsersCommand(
  command: Exclude<UsersCommand, { name: 'help' | 'migrate' }>,
  context: CommandContext,
): Promise<number> {
  const { users, sessions, out, err } = context;
  switch (command.name) {
    case 'list': {
      for (const user of await users.list()) out(JSON.stringify(printable(user)));
      return EXIT_OK;
    }
    case 'add': {
      const password = checkPassword(context.password ?? '');
      const created = await users.create(command.email, password, command.roles);
      if (!created) {
        err(`users: ${command.email} is already taken`);
        return EXIT_FAILURE;
      }
      out(JSON.stringify(printable(created)));
      return EXIT_OK;
    }
    case 'disable':
    case 'enable': {
      const user = await users.findByEmail(command.email);
      if (!user) {
        err(`users: no user with email ${command.email}`);
        return EXIT_FAILURE;
      }
      const disabled = command.name === 'disable';
      // Disable first, so no new session can start while the old ones are revoked.
      await users.setDisabled(user.id, disabled);
      const revoked = disabled ? await sessions.revokeAllForUser(user.id, 'user_disabled') : 0;
      out(
        JSON.stringify({
          ...printable({ ...user, disabled }),
          ...(disabled ? { sessions_revoked: revoked } : {}),
        }),
      );
      return EXIT_OK;
    }
  }
}
