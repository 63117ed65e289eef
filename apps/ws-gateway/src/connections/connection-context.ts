import type { User } from '@admitone/auth-contracts';

/**
 * One place under MAX_CONNECTIONS_PER_USER, taken when the guard decides and
 * held until the connection opens (which consumes it) or the upgrade fails
 * (which releases it). Counting and taking happen in one synchronous step, so
 * a burst of concurrent upgrades cannot pass the cap between decision and 101.
 */
export interface ConnectionSlot {
  readonly userId: string;
  /** Gives the place back; a no-op once released or consumed. */
  release(): void;
}

/** What an authenticated upgrade established: the connection is built from it. */
export interface ConnectionContext {
  connection_id: string;
  request_id: string;
  remote_address: string;
  origin?: string;
  user: User;
  session_id: string;
  /** Milliseconds since the epoch. */
  auth_expires_at: number;
  /** The user's place under MAX_CONNECTIONS_PER_USER; open() consumes it, a failed upgrade releases it. */
  slot: ConnectionSlot;
}
