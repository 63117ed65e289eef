import type { Kysely } from 'kysely';
import type { AccountsDb, Database } from '../database/database';
import {
  ExternalIdentity,
  IdentityCreation,
  UserProfile,
  UserRecord,
  UserStore,
} from './user-store';

/**
 * Users in PostgreSQL. The unique index on `email` decides a race between
 * two creates of one email: the loser's INSERT does nothing and reports
 * false, exactly as the Redis adapter's SET NX does.
 */
export class PostgresUserStore implements UserStore {
  constructor(private readonly db: AccountsDb) {}

  async create(user: UserRecord): Promise<boolean> {
    return (await insertUser(this.db, user)) !== undefined;
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', email)
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async findById(id: string): Promise<UserRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async findProfileById(id: string): Promise<UserProfile | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'email', 'roles', 'disabled'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row
      ? { id: row.id, email: row.email, roles: [...row.roles], disabled: row.disabled }
      : null;
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    if (!UUID.test(id)) return;
    await this.db
      .updateTable('users')
      .set({ disabled, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    if (!UUID.test(id)) return;
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: new Date() })
      .where('id', '=', id)
      .execute();
  }

  async list(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('email').execute();
    return rows.map(toRecord);
  }

  async findIdByIdentity({ issuer, subject }: ExternalIdentity): Promise<string | null> {
    const row = await this.db
      .selectFrom('identities')
      .select('user_id')
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row?.user_id ?? null;
  }

  /** One transaction: the identity's primary key and the email's unique index decide races. */
  async createWithIdentity(
    user: UserRecord,
    { issuer, subject }: ExternalIdentity,
  ): Promise<IdentityCreation> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const linked = await tx
          .selectFrom('identities')
          .select('user_id')
          .where('issuer', '=', issuer)
          .where('subject', '=', subject)
          .executeTakeFirst();
        if (linked) return 'identity_taken' as const;
        if (!(await insertUser(tx, user))) return 'email_taken' as const;
        await tx.insertInto('identities').values({ issuer, subject, user_id: user.id }).execute();
        return 'created' as const;
      });
    } catch (error) {
      // A concurrent first sign-in inserted the same identity: the primary key refused ours.
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'identity_taken';
      throw error;
    }
  }
}

const UNIQUE_VIOLATION = '23505';

/** Inserts the user unless its email is taken (the unique index decides): its id, or undefined. */
function insertUser(db: Kysely<Database>, user: UserRecord) {
  return db
    .insertInto('users')
    .values({
      id: user.id,
      email: user.email,
      password_hash: user.password_hash,
      roles: user.roles,
      disabled: user.disabled,
      created_at: user.created_at,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst();
}

/** An id that is not a UUID names no user (and must not reach a uuid column as an error). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecord(row: {
  id: string;
  email: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  created_at: Date;
}): UserRecord {
  return {
    id: row.id,
    email: row.email,
    password_hash: row.password_hash,
    roles: [...row.roles],
    disabled: row.disabled,
    created_at: row.created_at.toISOString(),
  };
}
