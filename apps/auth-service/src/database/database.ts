import type { ColumnType } from 'kysely';
import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';

/**
 * Accounts are the one durable thing auth-service owns, so they live in
 * PostgreSQL (Cloud SQL in production); what expires (tickets, sessions,
 * rate limits) stays in Redis. Kysely types every query against this schema,
 * and `pg` is the driver: both install without downloading binaries.
 */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  /** Set by every write, for operators; no application logic reads it. */
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Accounts at external OpenID providers, linked by `iss` and `sub` (never by email). */
export interface IdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface Database {
  users: UsersTable;
  identities: IdentitiesTable;
}

export type AccountsDb = Kysely<Database>;

/** A pool-backed Kysely instance; `max` stays small because Cloud SQL counts connections. */
export function createAccountsDb(url: string, options: { max?: number } = {}): AccountsDb {
  const pool = new Pool({
    connectionString: url,
    max: options.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Whether the database answers a trivial query (readiness). */
export async function isDatabaseUp(db: AccountsDb): Promise<boolean> {
  try {
    await db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    return true;
  } catch {
    return false;
  }
}
