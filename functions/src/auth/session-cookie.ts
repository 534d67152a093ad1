/**
 * The browser session cookie: `<session id>.<refresh token>`, HttpOnly, Secure,
 * SameSite=Strict, Path=/, no Domain (what a `__Host-` name demands), for as long as the session
 * lives. The session id in it lets the CSRF check run without a store lookup; the refresh
 * handler still checks that the refresh token belongs to that session.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import type { CookieSession, Request } from '../pipeline/inputs.ts';

export type { CookieSession };

const VALUE = /^([A-Za-z0-9]{20})\.([A-Za-z0-9_-]{43})$/;

export function readSessionCookie(req: Request, name: string): CookieSession | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const value = parseCookie(header)[name];
  const match = value === undefined ? null : VALUE.exec(value);
  return match ? { sessionId: match[1]!, refreshToken: match[2]! } : undefined;
}

export function sessionCookie(name: string, session: CookieSession, expiresAt: number): string {
  return stringifySetCookie({
    name,
    value: `${session.sessionId}.${session.refreshToken}`,
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    maxAge: Math.max(0, Math.floor((expiresAt - Date.now()) / 1000)),
  });
}

export function clearedSessionCookie(name: string): string {
  return stringifySetCookie({ name, value: '', httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: 0 });
}
