import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import {
  ExternalIdentity,
  IdentityCreation,
  UserProfile,
  UserRecord,
  UserStore,
} from './user-store';

/** Claims the identity and the email, then writes the user, all or nothing. */
const CREATE_WITH_IDENTITY = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'identity_taken' end
if redis.call('SET', KEYS[2], ARGV[1], 'NX') == false then return 'email_taken' end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'email', ARGV[2], 'password_hash', ARGV[3],
  'roles', ARGV[4], 'disabled', ARGV[5], 'created_at', ARGV[6])
redis.call('SADD', KEYS[4], ARGV[1])
return 'created'
`;

/**
 * Keys: `user:<id>` (hash), `user-email:<email>` (id), `users` (set of ids),
 * `user-identity:<sha256 of iss and sub>` (id).
 * The email key is claimed with SET NX first, so two concurrent creates of
 * one email cannot both succeed.
 */
export class RedisUserStore implements UserStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private userKey(id: string): string {
    return `${this.prefix}user:${id}`;
  }

  private emailKey(email: string): string {
    return `${this.prefix}user-email:${email}`;
  }

  async create(user: UserRecord): Promise<boolean> {
    const claimed = await this.redis.set(this.emailKey(user.email), user.id, 'NX');
    if (claimed !== 'OK') return false;
    await this.redis
      .multi()
      .hset(this.userKey(user.id), {
        id: user.id,
        email: user.email,
        password_hash: user.password_hash,
        roles: JSON.stringify(user.roles),
        disabled: user.disabled ? '1' : '0',
        created_at: user.created_at,
      })
      .sadd(`${this.prefix}users`, user.id)
      .exec();
    return true;
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const id = await this.redis.get(this.emailKey(email));
    return id ? this.findById(id) : null;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const h = await this.redis.hgetall(this.userKey(id));
    if (!h['id']) return null;
    return {
      id: h['id'],
      email: h['email'] ?? '',
      password_hash: h['password_hash'] ?? '',
      roles: JSON.parse(h['roles'] ?? '[]') as string[],
      disabled: h['disabled'] === '1',
      created_at: h['created_at'] ?? '',
    };
  }

  async findProfileById(id: string): Promise<UserProfile | null> {
    const [found, email, roles, disabled] = await this.redis.hmget(
      this.userKey(id),
      'id',
      'email',
      'roles',
      'disabled',
    );
    if (!found) return null;
    return {
      id: found,
      email: email ?? '',
      roles: JSON.parse(roles ?? '[]') as string[],
      disabled: disabled === '1',
    };
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    await this.redis.hset(this.userKey(id), 'disabled', disabled ? '1' : '0');
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.redis.hset(this.userKey(id), 'password_hash', passwordHash);
  }

  async list(): Promise<UserRecord[]> {
    const ids = await this.redis.smembers(`${this.prefix}users`);
    const users = await Promise.all(ids.map((id) => this.findById(id)));
    return users
      .filter((u): u is UserRecord => u !== null)
      .sort((a, b) => a.email.localeCompare(b.email));
  }

  private identityKey({ issuer, subject }: ExternalIdentity): string {
    const digest = createHash('sha256')
      .update(JSON.stringify([issuer, subject]))
      .digest('hex');
    return `${this.prefix}user-identity:${digest}`;
  }

  findIdByIdentity(identity: ExternalIdentity): Promise<string | null> {
    return this.redis.get(this.identityKey(identity));
  }

  async createWithIdentity(
    user: UserRecord,
    identity: ExternalIdentity,
  ): Promise<IdentityCreation> {
    const result = await this.redis.eval(
      CREATE_WITH_IDENTITY,
      4,
      this.identityKey(identity),
      this.emailKey(user.email),
      this.userKey(user.id),
      `${this.prefix}users`,
      user.id,
      user.email,
      user.password_hash,
      JSON.stringify(user.roles),
      user.disabled ? '1' : '0',
      user.created_at,
    );
    return result as IdentityCreation;
  }
}
