/*
 * Bench baseline, not product code: bastion's own CORS stages as they were before the `cors`
 * package negotiated the headers, kept so test/bench/cors.ts can compare (swapped in by
 * test/bench/cors-variant.ts with BASTION_CORS=own).
 */
/**
 * CORS from an allowlist of exact origins: answers OPTIONS and preflights, and refuses a
 * state-changing request from an origin outside the list (and not the site itself, see
 * origin.ts) outright instead of relying on the browser alone. It runs after the global rate
 * limit, so preflights and refusals count like any request; the headers that let a browser
 * read the answer are set earlier, by cors-headers.ts.
 */
import type { Middleware } from '../../../functions/src/pipeline/context.ts';
import { ApiError } from '../../../functions/src/errors/api-error.ts';
import { fromAllowedPlace } from '../../../functions/src/pipeline/origin.ts';
import { reply } from '../../../functions/src/pipeline/respond.ts';

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
  // The product's list (App Check's header came after this copy was taken), so the variants answer alike.
  const allowedHeaders = (options.allowedHeaders ?? ['Authorization', 'Content-Type', 'X-Request-Id', 'X-CSRF-Token', 'X-Firebase-AppCheck']).join(', ');
  const maxAge = String(options.maxAgeSeconds ?? 600);

  return async (ctx, next) => {
    const { req } = ctx;
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      const methods = options.methodsFor(ctx.path);
      if (methods.length === 0) return next(); // unknown path: the router answers 404
      const preflight = origin !== undefined && req.headers['access-control-request-method'] !== undefined;
      if (preflight && !origins.has(origin)) throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
      const headers: Record<string, string> = { Allow: [...methods, 'OPTIONS'].join(', ') };
      if (preflight) {
        headers['Access-Control-Allow-Methods'] = methods.join(', ');
        headers['Access-Control-Allow-Headers'] = allowedHeaders;
        headers['Access-Control-Max-Age'] = maxAge;
      }
      reply(ctx, 204, undefined, headers);
      return;
    }
    if (origin !== undefined && !SAFE_METHODS.has(method) && !fromAllowedPlace(req, origins)) {
      throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
    }
    await next();
  };
}
