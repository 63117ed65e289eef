import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { redactUrl, testFileName } from './redis';

/**
 * A PostgreSQL database of the test file's own: created on the server at
 * DATABASE_TEST_URL (default postgres://postgres@127.0.0.1:5432/postgres,
 * trust auth, as on CI), handed out by URL, and dropped afterwards with
 * every connection to it. When no server answers, it fails at once naming
 * DATABASE_TEST_URL.
 */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** A URL for the new, empty database (services take it as DATABASE_URL). */
  url: string;
  name: string;
  /** Runs SQL as the admin connection, against the test database. */
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Drops the database (terminating its connections). */
  cleanup(): Promise<void>;
}

export function testDatabaseServerUrl(): string {
  return process.env['DATABASE_TEST_URL'] || DEFAULT_TEST_DATABASE_URL;
}

export async function createTestDatabase(name = testFileName()): Promise<TestDatabase> {
  const serverUrl = testDatabaseServerUrl();
  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `No PostgreSQL answered at DATABASE_TEST_URL=${redactUrl(serverUrl)} (${why}). ` +
        'Start one on 127.0.0.1:5432 or set DATABASE_TEST_URL to a server this test may create databases on.',
    );
  }
  const safe = name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const dbName = `admitone_test_${safe}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const inDb = new Client({ connectionString: url.toString() });
  await inDb.connect();
  return {
    url: url.toString(),
    name: dbName,
    async query<R>(text: string, values?: unknown[]) {
      return (await inDb.query(text, values)).rows as R[];
    },
    async cleanup() {
      await inDb.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
