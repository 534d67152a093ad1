/**
 * CSRF protection for requests that authenticate with the browser session cookie (routes
 * that declare `cookieSession`). A state-changing request carrying the cookie must come from
 * an allowed place (`Origin` in the allowlist, or `Sec-Fetch-Site: same-origin`: see
 * origin.ts) and carry the session's CSRF token in `X-CSRF-Token`; otherwise 403.
 * SameSite=Strict already keeps the cookie off cross-site requests in current browsers;
 * these checks do not rely on it. Requests with bearer tokens or a body refresh token carry no
 * ambient credential and are not concerned.
 */
import type { IncomingMessage } from 'node:http';
import type { Middleware } from './context.ts';
import type { CookieSession } from './inputs.ts';
import { ApiError } from '../errors/api-error.ts';
import { fromAllowedPlace } from './origin.ts';

export interface CsrfOptions {
  /** The browser session a request's cookie names, if any (no store lookup: it is checked later). */
  readSession: (req: IncomingMessage) => CookieSession | undefined;
  /** Whether `token` is the CSRF token of that session. */
  verifyToken: (sessionId: string, token: string | undefined) => boolean;
  /** Origins allowed to send the cookie on state-changing requests. */
  origins: readonly string[];
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrf(options: CsrfOptions): Middleware {
  const origins = new Set(options.origins);
  const { readSession, verifyToken } = options;
  return (ctx, next) => {
    if (!ctx.route!.cookieSession) return next();
    const session = readSession(ctx.req);
    if (!session) return next();
    if (!SAFE_METHODS.has(ctx.req.method ?? 'GET')) {
      if (!fromAllowedPlace(ctx.req, origins)) throw new ApiError('origin_not_allowed', { params: { action: 'use the session cookie' } });
      const token = ctx.req.headers['x-csrf-token'];
      if (!verifyToken(session.sessionId, typeof token === 'string' ? token : undefined)) {
        throw new ApiError('csrf_token_invalid');
      }
    }
    ctx.session = session;
    return next();
  };
}
