/**
 * CSRF tokens for cookie sessions: an HMAC of the session id (the token family) under a key
 * derived from the current signing key with HKDF, so there is no other secret to manage and
 * the tokens are bound to the session they were issued for. A page gets its token in the JSON
 * of login and refresh (or from GET /auth/session) and sends it back in `X-CSRF-Token`; another
 * site can neither read it nor compute it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.ts';
import { derivedKey } from './derived-keys.ts';

export function csrfTokenFor(auth: Config['auth'], sessionId: string): string {
  return createHmac('sha256', derivedKey(auth, 'csrf token v1')).update(sessionId).digest('base64url');
}

export function isValidCsrfToken(auth: Config['auth'], sessionId: string, token: string | undefined): boolean {
  if (token === undefined) return false;
  const expected = Buffer.from(csrfTokenFor(auth, sessionId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
