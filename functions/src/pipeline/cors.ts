/**
 * CORS from an allowlist of exact origins. Credentials are allowed, so the allowed origin is
 * echoed (never `*`) and every response varies on Origin. A state-changing request from an
 * origin outside the list (and not the site itself, see origin.ts) is refused outright instead
 * of relying on the browser alone.
 */
import type { Middleware } from './context.ts';
import { ForbiddenError } from './errors.ts';
import { fromAllowedPlace } from './origin.ts';
import { reply } from './respond.ts';

export interface CorsOptions {
  origins: readonly string[];
  /** The methods the path answers to (empty when no route matches it). */
  methodsFor: (path: string) => readonly string[];
  allowedHeaders?: readonly string[];
  exposedHeaders?: readonly string[];
  maxAgeSeconds?: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cors(options: CorsOptions): Middleware {
  const origins = new Set(options.origins);
  const allowedHeaders = (options.allowedHeaders ?? ['Authorization', 'Content-Type', 'X-Request-Id', 'X-CSRF-Token']).join(', ');
  const exposedHeaders = (
    options.exposedHeaders ?? ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy']
  ).join(', ');
  const maxAge = String(options.maxAgeSeconds ?? 600);

  return async (ctx, next) => {
    const { req } = ctx;
    const headers = ctx.responseHeaders;
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    const preflight = method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    headers.Vary = preflight ? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' : 'Origin';
    const allowed = origin !== undefined && origins.has(origin);

    if (allowed) {
      headers['Access-Control-Allow-Origin'] = origin;
      headers['Access-Control-Allow-Credentials'] = 'true';
    }
    if (method === 'OPTIONS') {
      const methods = options.methodsFor(ctx.path);
      if (methods.length === 0) return next(); // unknown path: the router answers 404
      if (preflight && !allowed) throw new ForbiddenError('origin_not_allowed', 'This origin may not call the API.');
      if (preflight) {
        headers['Access-Control-Allow-Methods'] = methods.join(', ');
        headers['Access-Control-Allow-Headers'] = allowedHeaders;
        headers['Access-Control-Max-Age'] = maxAge;
      }
      reply(ctx, 204, undefined, { Allow: [...methods, 'OPTIONS'].join(', ') });
      return;
    }
    if (origin !== undefined && !SAFE_METHODS.has(method) && !fromAllowedPlace(req, origins)) {
      throw new ForbiddenError('origin_not_allowed', 'This origin may not call the API.');
    }
    if (allowed) headers['Access-Control-Expose-Headers'] = exposedHeaders;
    await next();
  };
}
