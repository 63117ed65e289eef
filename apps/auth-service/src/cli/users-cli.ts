import { NestFactory } from '@nestjs/core';
import { ConfigError, isRedisUp, loadConfig, REDIS } from '@admitone/service-runtime';
import type Redis from 'ioredis';
import { AuthConfig, AuthConfigSchema, MigrateConfigSchema } from '../config/auth-config';
import { createAccountsDb } from '../database/database';
import { migrateToLatest } from '../database/migrations';
import { SessionsService } from '../sessions/sessions.service';
import { UsersService } from '../users/users.service';
import { CliModule } from './cli.module';
import { readPassword } from './read-password';
import {
  checkPassword,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  parseUsersCommand,
  runUsersCommand,
  UsageError,
  USAGE,
} from './users-commands';

/**
 * `npm run users -- add|disable|enable|list|migrate ...`: manages the users
 * of auth-service with the service's own modules, so a disabled user's
 * sessions are revoked and each revocation is published to the gateways
 * exactly as the service would. Configuration is validated once, here;
 * REDIS_URL is required (sessions live there, and without DATABASE_URL the
 * accounts too) and SEED_USERS is never applied. `migrate` needs only
 * DATABASE_URL: it is the production way to move the schema forward.
 */
const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseUsersCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`users: ${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command.name === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }

  if (command.name === 'migrate') {
    try {
      return await migrate(loadConfig(MigrateConfigSchema).DATABASE_URL);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      err(`users: ${error.message}`);
      return EXIT_USAGE;
    }
  }

  let config: AuthConfig;
  try {
    config = loadConfig(AuthConfigSchema, { ...process.env, SEED_USERS: undefined });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`users: ${error.message}`);
    return EXIT_USAGE;
  }
  if (!config.REDIS_URL) {
    err(
      'users: REDIS_URL is required: sessions live in Redis (in-memory users would vanish on exit)',
    );
    return EXIT_USAGE;
  }

  let password: string | undefined;
  if (command.name === 'add') {
    try {
      password = checkPassword(await readPassword(process.env['USER_PASSWORD']));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      err(`users: ${error.message}`);
      return EXIT_USAGE;
    }
  }

  // The modules' own start-up loggers write to stdout, which is the CLI's
  // output: keep them silent; the CLI's PinoLogger writes to stderr instead.
  const app = await NestFactory.createApplicationContext(
    CliModule.forRoot({ ...config, SEED_USERS: undefined, LOG_LEVEL: 'silent' }, config.LOG_LEVEL),
    { logger: false, abortOnError: false },
  );
  try {
    if (!(await isRedisUp(app.get<Redis>(REDIS)))) {
      err('users: no Redis answered at REDIS_URL');
      return EXIT_FAILURE;
    }
    return await runUsersCommand(command, {
      users: app.get(UsersService),
      sessions: app.get(SessionsService),
      password,
      out,
      err,
    });
  } finally {
    await app.close();
  }
}

async function migrate(databaseUrl: string | undefined): Promise<number> {
  if (!databaseUrl) {
    err('users: migrate needs DATABASE_URL (the accounts database)');
    return EXIT_USAGE;
  }
  const db = createAccountsDb(databaseUrl, { max: 1 });
  try {
    const report = await migrateToLatest(db);
    out(JSON.stringify({ applied: report.applied, schema_version: report.latest }));
    return EXIT_OK;
  } finally {
    await db.destroy();
  }
}

/** Exits once stdout is flushed (on some platforms pipes are written asynchronously). */
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  err(`users: failed: ${error instanceof Error ? error.message : String(error)}`);
  exit(EXIT_FAILURE);
});
