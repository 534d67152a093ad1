/**
 * The CORS headers that let a browser read an answer: an allowed origin is echoed with
 * credentials (never `*`) and told which headers it may read, and every response varies on
 * Origin. Set before anything can answer, the global rate limit included, so an allowed page
 * can read a 429 and its Retry-After too. What is answered or refused is cors.ts's business.
 *
 * The negotiation itself is the `cors` package's (expressjs/cors). For fixed options its answer
 * depends only on the request's method (OPTIONS or not) and origin, so, as security-headers.ts
 * does with helmet, it is recorded: for each allowed origin, at construction, cors's middleware
 * runs once on a stand-in request and response (`recordCors`), and each request gets the
 * recorded headers copied into `ctx.responseHeaders`, so they go out in the answer's one
 * `writeHead`. Running cors on every request instead cost 0.7 µs of CPU per answer and 3.1 µs
 * per preflight (3 % of a preflight's whole cost; recorded: 0.05 and 0.2 µs; `BENCH_ONLY=cors
 * npm run bench`). Its origin is a function, so a refused origin gets no CORS header at all
 * (given an array, cors would still send `Access-Control-Allow-Credentials` to every origin).
 * `Vary` is bastion's, set on every response: cors's is `Origin`, and only on an allowed
 * origin's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import negotiator, { type CorsOptions as NegotiatorOptions } from 'cors';
import type { Middleware } from './context.ts';

/** cors's options as bastion gives them: no answer of its own (the pipeline answers). */
export type RecordedCorsOptions = NegotiatorOptions & { preflightContinue: true };

/**
 * The headers cors's middleware, made with `options`, sets for `request`, but `Vary` (which
 * bastion sets on every response, cors's `Origin` included). cors finishes synchronously here
 * (plain options, a synchronous origin function); it must echo the request's own origin or
 * none, never `*` nor another.
 */
export function recordCors(options: RecordedCorsOptions, request: { method: string; headers: IncomingHttpHeaders }): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => void (headers[name] = value),
    getHeader: (name: string) => headers[name], // vary() reads it
    end: () => {
      throw new Error('cors answered by itself: it must be made with preflightContinue');
    },
  };
  let finished = false;
  negotiator(options)(request, response, (error?: Error) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('cors did not finish synchronously');
  const echoed = headers['Access-Control-Allow-Origin'];
  if (echoed !== undefined && echoed !== request.headers.origin) throw new Error(`cors answered the origin ${request.headers.origin} with ${echoed}`);
  // A fresh object rather than `delete`, which would leave a slow (dictionary-mode) one to copy from.
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'Vary'));
}

/** The origin cors is given: allowed exactly when `origins` holds it (no pattern, no `*`). */
export function exactOrigin(origins: ReadonlySet<string>) {
  return (origin: string | undefined, callback: (error: Error | null, allow?: boolean) => void): void => {
    callback(null, origin !== undefined && origins.has(origin));
  };
}

export interface CorsHeadersOptions {
  /** The exact origins (scheme, host, port) that may read responses. */
  origins: readonly string[];
  /** Response headers an allowed origin's script may read. */
  exposedHeaders?: readonly string[];
}

const KNOWN_OPTIONS = new Set(['origins', 'exposedHeaders']);

export function corsHeaders(options: CorsHeadersOptions): Middleware {
  for (const name of Object.keys(options)) if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`corsHeaders: unknown option ${name}`);
  const exposedHeaders = (options.exposedHeaders ?? ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy']).join(', ');

  const origins = new Set(options.origins);
  const allowOrigin = exactOrigin(origins);
  /** cors's answer for each allowed origin, recorded once (a refused one gets nothing). */
  const record = (corsOptions: RecordedCorsOptions, method: string) => new Map([...origins].map((origin) => [origin, recordCors(corsOptions, { method, headers: { origin } })]));
  // An answer (any method but OPTIONS: cors treats them alike): the origin, credentials and
  // the headers its script may read.
  const forAnswers = record({ origin: allowOrigin, credentials: true, exposedHeaders, preflightContinue: true }, 'GET');
  // OPTIONS (answered or refused later, by cors.ts): the origin and credentials only; a
  // preflight's methods, headers and max age depend on the path, so cors.ts records those.
  const forOptions = record({ origin: allowOrigin, credentials: true, methods: [], allowedHeaders: [], preflightContinue: true }, 'OPTIONS');

  return (ctx, next) => {
    const { req } = ctx;
    const origin = req.headers.origin;
    const isOptions = req.method === 'OPTIONS';
    const preflight = isOptions && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    ctx.responseHeaders.Vary = preflight ? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' : 'Origin';
    const recorded = origin === undefined ? undefined : (isOptions ? forOptions : forAnswers).get(origin);
    if (recorded) Object.assign(ctx.responseHeaders, recorded);
    return next();
  };
}
