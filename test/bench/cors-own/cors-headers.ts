/*
 * Bench baseline, not product code: bastion's own CORS stages as they were before the `cors`
 * package negotiated the headers, kept so test/bench/cors.ts can compare (swapped in by
 * test/bench/cors-variant.ts with BASTION_CORS=own).
 */
/**
 * The CORS headers that let a browser read an answer: an allowed origin is echoed with
 * credentials (never `*`) and told which headers it may read, and every response varies on
 * Origin. Set before anything can answer, the global rate limit included, so an allowed page
 * can read a 429 and its Retry-After too. What is answered or refused is cors.ts's business.
 */
import type { Middleware } from '../../../functions/src/pipeline/context.ts';

export interface CorsHeadersOptions {
  /** The exact origins (scheme, host, port) that may read responses. */
  origins: readonly string[];
  /** Response headers an allowed origin's script may read. */
  exposedHeaders?: readonly string[];
}

const KNOWN_OPTIONS = new Set(['origins', 'exposedHeaders']);

export function corsHeaders(options: CorsHeadersOptions): Middleware {
  for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`corsHeaders: unknown option ${name}`);
  const origins = new Set(options.origins);
  const exposedHeaders = (options.exposedHeaders ?? ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy']).join(', ');

  return async (ctx, next) => {
    const { req } = ctx;
    const headers = ctx.responseHeaders;
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    headers.Vary = preflight ? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' : 'Origin';
    if (origin !== undefined && origins.has(origin)) {
      headers['Access-Control-Allow-Origin'] = origin;
      headers['Access-Control-Allow-Credentials'] = 'true';
      if (req.method !== 'OPTIONS') headers['Access-Control-Expose-Headers'] = exposedHeaders;
    }
    await next();
  };
}
