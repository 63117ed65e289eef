export interface UserRecord {
  id: string;
  email: string;
  password_hash: string;
  roles: string[];
  disabled: boolean;
  created_at: string;
}

/** The user directory. One port; Redis and memory adapters; one contract suite. */
export interface UserStore {
  /** Creates the user; false when the email is already taken. */
  create(user: UserRecord): Promise<boolean>;
  findByEmail(email: string): Promise<UserRecord | null>;
  findById(id: string): Promise<UserRecord | null>;
  setDisabled(id: string, disabled: boolean): Promise<void>;
  setPassword(id: string, passwordHash: string): Promise<void>;
  list(): Promise<UserRecord[]>;
}
export const USER_STORE = Symbol('USER_STORE');
