import { Kysely, Migration, MigrationProvider, Migrator, sql } from 'kysely';
import type { AccountsDb } from './database';

/**
 * Versioned migrations, in code so that the webpack bundle carries them
 * (no migrations folder to ship beside it). Names sort in order; a migration
 * once released is never edited, only followed by a new one. Kysely's
 * Migrator takes a lock table, so replicas starting together migrate once.
 */
const MIGRATIONS: Record<string, Migration> = {
  '2026-12-01-001-users': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('users')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('roles', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('users').execute();
    },
  },
  '2026-12-01-002-identities': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('identities')
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('identities_pkey', ['issuer', 'subject'])
        .execute();
      await db.schema
        .createIndex('identities_user_id')
        .on('identities')
        .column('user_id')
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('identities').execute();
    },
  },
};

class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface MigrationReport {
  applied: string[];
  latest: string;
}

function migratorFor(db: AccountsDb): Migrator {
  return new Migrator({
    db,
    provider: new InCodeMigrations(),
    migrationTableName: 'admitone_migrations',
    migrationLockTableName: 'admitone_migrations_lock',
  });
}

/** The migrations this code needs that the database has not run (none: the schema is current). */
export async function pendingMigrations(db: AccountsDb): Promise<string[]> {
  const all = await migratorFor(db).getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}

/** Brings the schema to the latest version; throws with the failing migration's name. */
export async function migrateToLatest(db: AccountsDb): Promise<MigrationReport> {
  const migrator = migratorFor(db);
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`migration ${failed?.migrationName ?? '(none)'} failed: ${why}`);
  }
  return {
    applied: results.filter((r) => r.status === 'Success').map((r) => r.migrationName),
    latest: Object.keys(MIGRATIONS).sort().at(-1) ?? '',
  };
}
