/*
 * Bench variant, not product code: the stages delegating to the `cors` package with its
 * middleware run on every request (the product records its answers instead), kept so
 * test/bench/cors.ts can show what that costs (swapped in with BASTION_CORS=per-request).
 */
/**
 * CORS from an allowlist of exact origins: answers OPTIONS and preflights, and refuses a
 * state-changing request from an origin outside the list (and not the site itself, see
 * origin.ts) outright instead of relying on the browser alone. It runs after the global rate
 * limit, so preflights and refusals count like any request; the headers that let a browser
 * read the answer are set earlier, by cors-headers.ts.
 *
 * A preflight's headers (methods, allowed headers, max age) are negotiated by the `cors`
 * package, through cors-headers.ts's `negotiate`; answering only for a path and method that
 * exist (404/405 otherwise) and refusing foreign origins stay here, with the origin checks
 * (origin.ts), as hono keeps them in its csrf middleware rather than its cors one.
 */
import negotiator from 'cors';
import type { Middleware } from '../../../functions/src/pipeline/context.ts';
import { exactOrigin, negotiate, type CorsNegotiator } from './cors-headers.ts';
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
  const allowOrigin = exactOrigin(origins);
  // The product's list (App Check's header came after this copy was taken), so the variants answer alike.
  const allowedHeaders = (options.allowedHeaders ?? ['Authorization', 'Content-Type', 'X-Request-Id', 'X-CSRF-Token', 'X-Firebase-AppCheck']).join(', ');
  const maxAge = options.maxAgeSeconds ?? 600;
  // One cors middleware per set of methods a path answers to (a handful), made on first use.
  const preflights = new Map<string, CorsNegotiator>();
  const preflightFor = (methods: readonly string[]): CorsNegotiator => {
    const key = methods.join(', ');
    let handler = preflights.get(key);
    if (!handler) {
      handler = negotiator({ origin: allowOrigin, credentials: true, methods: key, allowedHeaders, maxAge, preflightContinue: true });
      preflights.set(key, handler);
    }
    return handler;
  };

  return async (ctx, next) => {
    const { req } = ctx;
    const origin = req.headers.origin;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      const methods = options.methodsFor(ctx.path);
      if (methods.length === 0) return next(); // unknown path: the router answers 404
      const preflight = origin !== undefined && req.headers['access-control-request-method'] !== undefined;
      if (preflight && !origins.has(origin)) throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
      if (preflight) negotiate(preflightFor(methods), req, ctx.responseHeaders);
      reply(ctx, 204, undefined, { Allow: [...methods, 'OPTIONS'].join(', ') });
      return;
    }
    if (origin !== undefined && !SAFE_METHODS.has(method) && !fromAllowedPlace(req, origins)) {
      throw new ApiError('origin_not_allowed', { params: { action: 'call the API' } });
    }
    await next();
  };
}
