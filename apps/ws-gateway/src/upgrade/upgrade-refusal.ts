import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ERROR_CODES,
  ErrorBody,
  ErrorCode,
  statusOf,
  TicketInvalidReason,
} from '@admitone/auth-contracts';

/** A refusal of contract section 3, answered on the raw socket before any 101. */
export interface Refusal {
  code: ErrorCode;
  message?: string;
  reason?: TicketInvalidReason;
  retryAfterSeconds?: number;
}

export function refusal(code: ErrorCode, details: Omit<Refusal, 'code'> = {}): Refusal {
  return { code, ...details };
}

/**
 * What a request Node's HTTP parser rejects is answered with: 400
 * `invalid_request` in every case, headers over the size limit included
 * (Node would say 431, but the contract binds `invalid_request` to 400).
 */
export function parserRefusal(errorCode: string | undefined): Refusal {
  if (errorCode === 'HPE_HEADER_OVERFLOW')
    return refusal('invalid_request', { message: 'The request headers are too large.' });
  if (errorCode === 'ERR_HTTP_REQUEST_TIMEOUT')
    return refusal('invalid_request', { message: 'The request was not received in time.' });
  return refusal('invalid_request', { message: 'The request could not be parsed.' });
}

/**
 * Answers on the raw socket, then makes sure the descriptor is released: the
 * socket is half-closed with the answer and read to its end, so a client that
 * closes its side frees it at once, and a client that keeps its side open is
 * destroyed after `graceMs` (one timer per refused socket, cleared on close).
 */
export function writeRefusal(
  socket: Duplex,
  refused: Refusal,
  requestId: string,
  graceMs: number,
): void {
  const status = statusOf(refused.code);
  const body: ErrorBody = {
    error: refused.code,
    message: refused.message ?? ERROR_CODES[refused.code].message,
    request_id: requestId,
    ...(refused.reason ? { reason: refused.reason } : {}),
  };
  const payload = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    'Cache-Control: no-store',
    `X-Request-Id: ${requestId}`,
    ...(refused.retryAfterSeconds !== undefined
      ? [`Retry-After: ${refused.retryAfterSeconds}`]
      : []),
  ];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`${head.join('\r\n')}\r\n\r\n${payload}`);
  closeAfterGrace(socket, graceMs);
}

function closeAfterGrace(socket: Duplex, graceMs: number): void {
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // After an upgrade (or a parser error) nothing reads the socket any more:
  // discard what the client still sends so that its FIN is seen.
  socket.on('data', discard);
  socket.resume();
}

function discard(): void {
  // Bytes after a refusal are never interpreted.
}
