/**
 * Signed server-to-server requests: what is signed, and how. It depends on node:crypto alone, so
 * a Node caller can copy this one file (or import it) and sign with `signedHeaders`.
 *
 * The string signed (HMAC-SHA256 with the credential's secret, hex), one part a line, as AWS
 * Signature v4 builds its canonical request and Stripe binds a timestamp into its signatures:
 *
 *   BASTION-HMAC-SHA256
 *   <timestamp: Unix seconds, also sent as X-Bastion-Timestamp>
 *   <METHOD>
 *   <path, as sent, without the query>
 *   <query: name=value pairs sorted by name, then value, each RFC 3986-encoded, joined by &>
 *   <SHA-256 of the body's bytes, hex (of nothing, for no body)>
 *
 * Sent as X-Bastion-Key-Id, X-Bastion-Timestamp and X-Bastion-Signature: v1=<hex>.
 */
import { createHash, createHmac } from 'node:crypto';

export const SIGNATURE_SCHEME = 'BASTION-HMAC-SHA256';
export const KEY_ID_HEADER = 'x-bastion-key-id';
export const TIMESTAMP_HEADER = 'x-bastion-timestamp';
export const SIGNATURE_HEADER = 'x-bastion-signature';

export interface SignedParts {
  method: string;
  /** The path as sent, percent-encoding and all, without `?` and the query. */
  path: string;
  /** The raw query (without `?`); '' for none. */
  query: string;
  /** The body's bytes; empty for none. */
  body: Uint8Array;
  timestamp: number;
}

const rfc3986 = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The query in one form, however the caller wrote it: decoded, sorted, encoded again. */
export function canonicalQuery(query: string): string {
  return [...new URLSearchParams(query)]
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

export function stringToSign({ method, path, query, body, timestamp }: SignedParts): string {
  const bodyHash = createHash('sha256').update(body).digest('hex');
  return [SIGNATURE_SCHEME, String(timestamp), method.toUpperCase(), path, canonicalQuery(query), bodyHash].join('\n');
}

/** The signature's hex. */
export function signature(secret: string, parts: SignedParts): string {
  return createHmac('sha256', secret).update(stringToSign(parts)).digest('hex');
}

/** The headers that sign a request to `url` (its path and query are what is signed). */
export function signedHeaders(options: { keyId: string; secret: string; method: string; url: string | URL; body?: string | Uint8Array; now?: number }): Record<string, string> {
  const url = new URL(options.url);
  const timestamp = Math.floor((options.now ?? Date.now()) / 1000);
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : (options.body ?? new Uint8Array());
  const hex = signature(options.secret, { method: options.method, path: url.pathname, query: url.search.slice(1), body, timestamp });
  return { [KEY_ID_HEADER]: options.keyId, [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `v1=${hex}` };
}
