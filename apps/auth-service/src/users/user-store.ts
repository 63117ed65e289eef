export interface UserRecord {
  id: string;
  email: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
}

/** What the hot paths (ticket exchange, session checks) need: never the password hash. */
export type UserProfile = Pick<UserRecord, 'id' | 'email' | 'roles' | 'disabled'>;

/** A user's account at an external OpenID provider: `iss` and `sub`, never the email. */
export interface ExternalIdentity {
  issuer: string;
  subject: string;
}

export type IdentityCreation = 'created' | 'email_taken' | 'identity_taken';

/** The user directory. One port; PostgreSQL, Redis and memory adapters; one contract suite. */
export interface UserStore {
  /** Creates the user; false when the email is already taken. */
  create(user: UserRecord): Promise<boolean>;
  findByEmail(email: string): Promise<UserRecord | null>;
  findById(id: string): Promise<UserRecord | null>;
  /** The user without the password hash (one small read), or null. */
  findProfileById(id: string): Promise<UserProfile | null>;
  setDisabled(id: string, disabled: boolean): Promise<void>;
  setPassword(id: string, passwordHash: string): Promise<void>;
  list(): Promise<UserRecord[]>;
  /** The id of the user linked to this external identity, or null. */
  findIdByIdentity(identity: ExternalIdentity): Promise<string | null>;
  /**
   * Creates the user and links the identity to it, both or neither:
   * `email_taken` when another account holds the email (it is never linked
   * by email), `identity_taken` when a concurrent sign-in linked it first.
   */
  createWithIdentity(user: UserRecord, identity: ExternalIdentity): Promise<IdentityCreation>;
}
export const USER_STORE = Symbol('USER_STORE');
