import type { IncomingMessage } from 'node:http';

/**
 * The client's address for rate limiting. Behind N trusted proxies (Cloud
 * Run's front end, an Ingress) it is the Nth address from the right of
 * X-Forwarded-For; entries further left are client-supplied and untrusted.
 */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return chain[chain.length - trustedHops] ?? chain[0] ?? peer;
}
