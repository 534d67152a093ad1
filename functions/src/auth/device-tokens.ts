/**
 * Device tokens (OWASP's "device cookies"): after a successful sign-in, the client gets a token
 * naming that device and bound to the account's email, and sends it with its next logins. A
 * login that presents a valid one is judged by that device's own failure budget instead of the
 * lockout aimed at unknown devices, so strangers guessing an account's password cannot lock its
 * owner out of the devices they already use.
 *
 *   d1.<device id, 16 random bytes>.<HMAC-SHA256 of "d1.<id>.<email key>", base64url>
 *
 * Nothing is stored: the token is checked by its MAC. It is sent in the JSON rather than as a
 * cookie because Firebase Hosting forwards no cookie but `__session` to functions (and apps keep
 * JSON, not cookies). It grants nothing but that exemption, so a page may keep it in storage.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.ts';
import { emailKey } from './accounts.ts';
import { derivedKey } from './derived-keys.ts';

const FORMAT = /^d1\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function mac(auth: Config['auth'], id: string, email: string): string {
  return createHmac('sha256', derivedKey(auth, 'device token v1'))
    .update(`d1.${id}.${emailKey(email)}`)
    .digest('base64url');
}

export function issueDeviceToken(auth: Config['auth'], email: string): string {
  const id = randomBytes(16).toString('base64url');
  return `d1.${id}.${mac(auth, id, email)}`;
}

/** The device id of a token issued for this email, or undefined for anything else. */
export function deviceOf(auth: Config['auth'], email: string, token: string | undefined): string | undefined {
  const match = token === undefined ? null : FORMAT.exec(token);
  if (!match) return undefined;
  const [, id, given] = match;
  const expected = Buffer.from(mac(auth, id!, email));
  return timingSafeEqual(Buffer.from(given!), expected) ? id : undefined;
}
