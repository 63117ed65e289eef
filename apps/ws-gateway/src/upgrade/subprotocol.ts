import { SUBPROTOCOL, TICKET_PROTOCOL_PREFIX } from '@admitone/agent-events';

/**
 * RFC 6455 subprotocol negotiation. `Sec-WebSocket-Protocol` is a comma list
 * of RFC 7230 tokens; a malformed list or a duplicate is a bad request (ws
 * would abort the handshake on it, so we refuse it first, with our body).
 * The server selects `agent.v1` when it is offered, never anything else, and
 * in particular never a `ticket.<ticket>` entry: a credential is never echoed.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type SubprotocolOffer =
  | { kind: 'none' }
  | { kind: 'invalid' }
  | { kind: 'offered'; protocols: string[]; hasAgent: boolean; tickets: string[] };

export function parseSubprotocolOffer(header: string | string[] | undefined): SubprotocolOffer {
  if (header === undefined) return { kind: 'none' };
  const raw = Array.isArray(header) ? header.join(',') : header;
  const protocols = raw.split(',').map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (protocols.some((p) => !TOKEN.test(p))) return { kind: 'invalid' };
  if (new Set(protocols).size !== protocols.length) return { kind: 'invalid' };
  return {
    kind: 'offered',
    protocols,
    hasAgent: protocols.includes(SUBPROTOCOL),
    tickets: protocols
      .filter((p) => p.startsWith(TICKET_PROTOCOL_PREFIX))
      .map((p) => p.slice(TICKET_PROTOCOL_PREFIX.length)),
  };
}

/** What the server answers in `Sec-WebSocket-Protocol` (ws calls this with the parsed offer). */
export function selectSubprotocol(offered: Set<string>): string | false {
  return offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}
