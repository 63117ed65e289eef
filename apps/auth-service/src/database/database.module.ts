import { Global, Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { AccountsDb, createAccountsDb } from './database';
import { migrateToLatest, MigrationReport, pendingMigrations } from './migrations';

/** The accounts database, or null when DATABASE_URL is unset (development and tests only). */
export const ACCOUNTS_DB = Symbol('ACCOUNTS_DB');
const MIGRATION_REPORT = Symbol('MIGRATION_REPORT');

interface Connected {
  db: AccountsDb | null;
  report: MigrationReport | null;
}

/**
 * Connects to the accounts database and, when DATABASE_MIGRATE_ON_START is
 * on, migrates it inside the provider factory: nothing can receive the
 * database (the user seeding included) before its schema is current. With
 * migration at start off (the production default: migrate as a release
 * step), a schema that lags the code stops the start with what to run.
 */
@Global()
@Module({
  providers: [
    {
      provide: MIGRATION_REPORT,
      inject: [AUTH_CONFIG],
      useFactory: async (config: AuthConfig): Promise<Connected> => {
        if (!config.DATABASE_URL) return { db: null, report: null };
        const db = createAccountsDb(config.DATABASE_URL);
        try {
          if (config.DATABASE_MIGRATE_ON_START) return { db, report: await migrateToLatest(db) };
          const pending = await pendingMigrations(db);
          if (pending.length)
            throw new Error(
              `the accounts database lacks migrations ${pending.join(', ')}: run "users-cli migrate" (npm run users -- migrate) first`,
            );
          return { db, report: null };
        } catch (error) {
          await db.destroy();
          throw error;
        }
      },
    },
    {
      provide: ACCOUNTS_DB,
      inject: [MIGRATION_REPORT],
      useFactory: (connected: Connected) => connected.db,
    },
  ],
  exports: [ACCOUNTS_DB],
})
export class DatabaseModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(MIGRATION_REPORT) private readonly connected: Connected,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('DatabaseModule');
  }

  onModuleInit(): void {
    const { report } = this.connected;
    if (report)
      this.logger.info(
        { applied: report.applied, schema_version: report.latest },
        report.applied.length ? 'database migrated' : 'database schema is current',
      );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connected.db?.destroy();
  }
}
