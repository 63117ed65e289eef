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

export function writeRefusal(socket: Duplex, refused: Refusal, requestId: string): void {
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
}
