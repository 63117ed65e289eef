import { TICKET_QUERY_PARAM } from '@admitone/agent-events';
import { isWellFormedTicket } from '@admitone/auth-contracts';

/**
 * A ticket rides in exactly one of two carriers: `?ticket=` or a
 * `ticket.<ticket>` subprotocol. None is 401 `ticket_required`; two (in one
 * carrier or across both) or a malformed one is 400 `invalid_request`.
 */
export type TicketPresentation =
  | { kind: 'ticket'; ticket: string; carrier: 'query' | 'subprotocol' }
  | { kind: 'missing' }
  | { kind: 'ambiguous' }
  | { kind: 'malformed' };

export function presentTicket(
  search: URLSearchParams,
  subprotocolTickets: string[],
): TicketPresentation {
  const fromQuery = search.getAll(TICKET_QUERY_PARAM);
  const total = fromQuery.length + subprotocolTickets.length;
  if (total === 0) return { kind: 'missing' };
  if (total > 1) return { kind: 'ambiguous' };
  const carrier = fromQuery.length ? 'query' : 'subprotocol';
  const ticket = fromQuery[0] ?? subprotocolTickets[0];
  return isWellFormedTicket(ticket) ? { kind: 'ticket', ticket, carrier } : { kind: 'malformed' };
}
