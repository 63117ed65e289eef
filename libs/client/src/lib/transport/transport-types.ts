/**
 * The slice of the WHATWG WebSocket and fetch APIs the SDK uses, typed
 * structurally so a browser's globals and Node's `ws` (`import WebSocket
 * from 'ws'`) both fit without this package importing either. Handlers use
 * method syntax (bivariant parameters): each implementation's own event
 * classes are accepted as long as they carry the fields read here.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

export interface SocketCloseEvent {
  code: number;
  reason: string;
}

export interface SocketMessageEvent {
  data: unknown;
}

export interface WebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ('' when none). */
  readonly protocol: string;
  binaryType: string;
  onopen: Handler<unknown> | null;
  onmessage: Handler<SocketMessageEvent> | null;
  onclose: Handler<SocketCloseEvent> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** WebSocket.OPEN, the same in every implementation. */
export const SOCKET_OPEN = 1;

export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<FetchResponseLike>;
