import type { IncomingMessage } from 'node:http';

/**
 * The client's address for rate limiting. Behind N trusted proxies (Cloud
 * Run's front end, an Ingress) it is the Nth address from the right of
 * X-Forwarded-For; entries further left are client-supplied and untrusted.
 * A chain shorter than the trusted hops did not come through every proxy,
 * so none of its entries is trusted and the socket's peer address is used.
 */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return chain.length >= trustedHops ? chain[chain.length - trustedHops] : peer;
}
