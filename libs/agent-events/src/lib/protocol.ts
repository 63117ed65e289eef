/** RFC 6455 subprotocol names and the limits of contract section 4. */
export const SUBPROTOCOL = 'agent.v1';
/** Prefix of the subprotocol that carries a ticket: `ticket.<ticket>`. */
export const TICKET_PROTOCOL_PREFIX = 'ticket.';
export const DEFAULT_WS_PATH = '/ws';
export const TICKET_QUERY_PARAM = 'ticket';

/** Frames over this many bytes close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_CHAT_CHARS = 16_000;
export const MAX_ID_CHARS = 128;
