/**
 * CORS from an allowlist of exact origins: answers OPTIONS and preflights, and refuses a
 * state-changing request from an origin outside the list (and not the site itself, see
 * origin.ts) outright instead of relying on the browser alone. It runs after the global rate
 * limit, so preflights and refusals count like any request; the headers that let a browser
 * read the answer are set earlier, by cors-headers.ts.
 *
 * A preflight's headers (methods, allowed headers, max age) are the `cors` package's answer,
 * recorded once per set of methods and allowed origin (cors-headers.ts's `recordCors`);
 * answering only for a path that a route takes (404 otherwise, from the router) and refusing
 * foreign origins stay here, with the origin checks (origin.ts), as hono keeps its refusal in
 * its csrf middleware rather than its cors one.
 */
import type { Middleware } from './context.ts';
import { exactOrigin, recordCors } from './cors-headers.ts';
import { ApiError } from '../errors/api-error.ts';
import { fromAllowedPlace } from './origin.ts';
import { reply } from './respond.ts';

export interface CorsOptions {
  /** The exact origins (scheme, host, port) that may call the API from a browser. */
  origins: readonly string[];
  /** The methods the path answers to (empty when no route matches it). */
  methodsFor: (path: string) => readonly string[];
  /** Request headers a preflight may announce. */
  allowedHeaders?: readonly string[];
  /** How long a browser may cache a preflight's answer. */
  maxAgeSeconds?: number;
}

const KNOWN_OPTIONS = new Set(['origins', 'methodsFor', 'allowedHeaders', 'maxAgeSeconds']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function cors(options: CorsOptions): Middleware {
  for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`cors: unknown option ${name}`);
  const origins = new Set(options.origins);
  const allowOrigin = exactOrigin(origins);
  const allowedHeaders = (options.allowedHeaders ?? ['Authorization', 'Content-Type', 'X-Request-Id', 'X-CSRF-Token', 'X-Firebase-AppCheck']).join(', ');
  const maxAge = options.maxAgeSeconds ?? 600;
  // cors's preflight headers by the path's methods (a handful of sets), then by allowed origin,
  // recorded on first use.
  const preflights = new Map<string, Map<string, Record<string, string>>>();
  const preflightHeaders = (methods: readonly string[], origin: string): Record<string, string> => {
    const key = methods.join(', ');
    let byOrigin = preflights.get(key);
    if (!byOrigin) preflights.set(key, (byOrigin = new Map<string, Record<string, string>>()));
    let headers = byOrigin.get(origin);
    if (!headers) {
      const corsOptions = { origin: allowOrigin, credentials: true, methods: key, allowedHeaders, maxAge, preflightContinue: true } as const;
      headers = recordCors(corsOptions, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': methods[0] } });
      byOrigin.set(origin, headers);
    }
    return headers;
  };

  return (ctx, next) => {
    const { req } = ctx;
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      const methods = options.methodsFor(ctx.path);
      if (methods.length === 0) return next(); // unknown path: the router answers 404
      const preflight = origin !== undefined && req.headers['access-control-request-method'] !== undefined;
      if (preflight && !origins.has(origin)) throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
      if (preflight) Object.assign(ctx.responseHeaders, preflightHeaders(methods, origin));
      reply(ctx, 204, undefined, { Allow: [...methods, 'OPTIONS'].join(', ') });
      return;
    }
    if (origin !== undefined && !SAFE_METHODS.has(method) && !fromAllowedPlace(req, origins)) {
      throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
    }
    return next();
  };
}
