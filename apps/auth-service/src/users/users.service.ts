import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { User } from '@admitone/auth-contracts';
import { PinoLogger } from 'nestjs-pino';
import { AUTH_CONFIG, AuthConfig } from '../config/auth-config';
import { hashPassword, verifyPassword } from './password-hasher';
import { parseSeedUsers } from './seed-users';
import { ExternalIdentity, USER_STORE, UserProfile, UserRecord, UserStore } from './user-store';

export function toUser(record: Pick<UserRecord, 'id' | 'email' | 'roles'>): User {
  return { id: record.id, email: record.email, roles: record.roles };
}

@Injectable()
export class UsersService implements OnModuleInit {
  /** Verified against when the email is unknown, so both answers take as long. */
  private dummyHash: Promise<string> = hashPassword(randomUUID());

  constructor(
    @Inject(USER_STORE) private readonly store: UserStore,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('UsersService');
  }

  async onModuleInit(): Promise<void> {
    for (const seed of parseSeedUsers(this.config.SEED_USERS)) {
      try {
        const created = await this.create(seed.email, seed.password, seed.roles);
        if (created) this.logger.info({ user_id: created.id, email: seed.email }, 'seeded user');
      } catch (error) {
        this.logger.error({ err: (error as Error).message }, 'could not seed users (is Redis up?)');
        return;
      }
    }
  }

  /** Creates a user; null when the email is taken. */
  async create(email: string, password: string, roles: string[]): Promise<UserRecord | null> {
    const record: UserRecord = {
      id: randomUUID(),
      email,
      password_hash: await hashPassword(password),
      roles,
      disabled: false,
      created_at: new Date().toISOString(),
    };
    return (await this.store.create(record)) ? record : null;
  }

  /**
   * The user for these credentials, or null. Unknown email, wrong password
   * and disabled user are indistinguishable to the caller, in answer and time.
   */
  async verifyCredentials(email: string, password: string): Promise<UserRecord | null> {
    const user = await this.store.findByEmail(email);
    const ok = await verifyPassword(user?.password_hash ?? (await this.dummyHash), password);
    return user && ok && !user.disabled ? user : null;
  }

  /**
   * The account linked to an external identity, created on its first
   * sign-in with a password nobody knows (an argon2id hash of 256 random
   * bits), so it can sign in only through its provider. Null when the email
   * belongs to another account: accounts are never linked by email.
   */
  async findOrCreateByIdentity(
    identity: ExternalIdentity,
    profile: { email: string; roles: string[] },
  ): Promise<{ user: UserRecord; created: boolean } | null> {
    const linked = await this.store.findIdByIdentity(identity);
    if (linked) {
      const user = await this.store.findById(linked);
      if (user) return { user, created: false };
    }
    const record: UserRecord = {
      id: randomUUID(),
      email: profile.email,
      password_hash: await hashPassword(randomBytes(32).toString('base64url')),
      roles: profile.roles,
      disabled: false,
      created_at: new Date().toISOString(),
    };
    const outcome = await this.store.createWithIdentity(record, identity);
    if (outcome === 'created') return { user: record, created: true };
    if (outcome === 'email_taken') return null;
    // A concurrent first sign-in of the same identity won: use its account.
    const winner = await this.store.findIdByIdentity(identity);
    const user = winner ? await this.store.findById(winner) : null;
    if (!user) throw new Error('identity linked to a missing account');
    return { user, created: false };
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.store.findById(id);
  }

  /** The user without the password hash: what the ticket exchange and session checks need. */
  findProfileById(id: string): Promise<UserProfile | null> {
    return this.store.findProfileById(id);
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.store.findByEmail(email);
  }

  setDisabled(id: string, disabled: boolean): Promise<void> {
    return this.store.setDisabled(id, disabled);
  }

  list(): Promise<UserRecord[]> {
    return this.store.list();
  }
}
