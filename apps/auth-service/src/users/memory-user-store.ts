import {
  ExternalIdentity,
  IdentityCreation,
  UserProfile,
  UserRecord,
  UserStore,
} from './user-store';

export class MemoryUserStore implements UserStore {
  private readonly byId = new Map<string, UserRecord>();
  private readonly idByEmail = new Map<string, string>();
  private readonly idByIdentity = new Map<string, string>();

  async create(user: UserRecord): Promise<boolean> {
    if (this.idByEmail.has(user.email)) return false;
    this.idByEmail.set(user.email, user.id);
    this.byId.set(user.id, { ...user, roles: [...user.roles] });
    return true;
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const id = this.idByEmail.get(email);
    return id ? this.findById(id) : null;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const user = this.byId.get(id);
    return user ? { ...user, roles: [...user.roles] } : null;
  }

  async findProfileById(id: string): Promise<UserProfile | null> {
    const user = this.byId.get(id);
    return user
      ? { id: user.id, email: user.email, roles: [...user.roles], disabled: user.disabled }
      : null;
  }

  async setDisabled(id: string, disabled: boolean): Promise<void> {
    const user = this.byId.get(id);
    if (user) user.disabled = disabled;
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    const user = this.byId.get(id);
    if (user) user.password_hash = passwordHash;
  }

  async list(): Promise<UserRecord[]> {
    return [...this.byId.values()]
      .map((u) => ({ ...u, roles: [...u.roles] }))
      .sort((a, b) => a.email.localeCompare(b.email));
  }

  async findIdByIdentity(identity: ExternalIdentity): Promise<string | null> {
    return this.idByIdentity.get(identityKey(identity)) ?? null;
  }

  async createWithIdentity(
    user: UserRecord,
    identity: ExternalIdentity,
  ): Promise<IdentityCreation> {
    // No await between the checks and the writes: they happen as one step.
    const key = identityKey(identity);
    if (this.idByIdentity.has(key)) return 'identity_taken';
    if (this.idByEmail.has(user.email)) return 'email_taken';
    this.idByEmail.set(user.email, user.id);
    this.byId.set(user.id, { ...user, roles: [...user.roles] });
    this.idByIdentity.set(key, user.id);
    return 'created';
  }
}

function identityKey({ issuer, subject }: ExternalIdentity): string {
  return JSON.stringify([issuer, subject]);
}
