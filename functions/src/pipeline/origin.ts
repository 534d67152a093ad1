/**
 * Where a browser request comes from. An allowed place is an origin in the allowlist, or the
 * API's own site: browsers mark same-origin requests with `Sec-Fetch-Site: same-origin`, a
 * header no page can set (locally, and behind Hosting, the web app is same-origin).
 */
import type { IncomingMessage } from 'node:http';

export function fromAllowedPlace(req: IncomingMessage, origins: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  return (origin !== undefined && origins.has(origin)) || req.headers['sec-fetch-site'] === 'same-origin';
}
