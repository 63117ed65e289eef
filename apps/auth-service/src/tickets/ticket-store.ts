/** What a ticket stands for. Stored under the ticket's SHA-256, never the ticket. */
export interface TicketRecord {
  user_id: string;
  session_id: string;
  /** The `Origin` of the ticket request, when it had one: the ticket is bound to it. */
  origin?: string;
  issued_at: string;
  /** `exp` of the access token that minted the ticket (ISO 8601). */
  auth_expires_at: string;
}

export type ConsumeResult =
  | { status: 'consumed'; record: TicketRecord }
  | { status: 'already_used'; record: TicketRecord }
  | { status: 'unknown' };

/**
 * Single-use tickets. `consume` is one atomic step: of any number of
 * concurrent consumptions of a ticket, across any number of replicas, exactly
 * one reads `consumed`. A consumed ticket is remembered for a while so that a
 * replay reads `already_used` (a security event) rather than `unknown`.
 */
export interface TicketStore {
  save(hash: string, record: TicketRecord, ttlSeconds: number): Promise<void>;
  consume(hash: string, rememberSeconds: number): Promise<ConsumeResult>;
  /** Forgets a live ticket that was saved but never handed out (its issuance was refused). */
  discard(hash: string): Promise<void>;
}
export const TICKET_STORE = Symbol('TICKET_STORE');
