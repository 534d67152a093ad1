import type { Request } from './context.ts';

/**
 * The client's address. Behind N trusted proxies that each append to X-Forwarded-For, the
 * client is the Nth entry from the right; entries further left are whatever the client sent
 * and are never trusted. With no trusted proxy, the socket's peer is the client.
 */
export function clientIp(req: Request, trustedProxyHops: number): string {
  const peer = req.socket?.remoteAddress ?? 'unknown';
  if (trustedProxyHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  return hops[hops.length - trustedProxyHops] ?? peer;
}
