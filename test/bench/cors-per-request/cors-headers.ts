/*
 * Bench variant, not product code: the stages delegating to the `cors` package with its
 * middleware run on every request (the product records its answers instead), kept so
 * test/bench/cors.ts can show what that costs (swapped in with BASTION_CORS=per-request).
 */
/**
 * The CORS headers that let a browser read an answer: an allowed origin is echoed with
 * credentials (never `*`) and told which headers it may read, and every response varies on
 * Origin. Set before anything can answer, the global rate limit included, so an allowed page
 * can read a 429 and its Retry-After too. What is answered or refused is cors.ts's business.
 *
 * The negotiation itself is the `cors` package's (expressjs/cors), run through `negotiate`
 * below: its middleware writes into a stand-in response whose headers are the pipeline's own
 * `ctx.responseHeaders`, so they still go out in the answer's one `writeHead`. Its origin is a
 * function, so a refused origin gets no CORS header at all (with an array of origins, cors
 * would still send `Access-Control-Allow-Credentials` to every origin). `Vary` is set here
 * first, for every response: cors adds `Origin` only to an allowed origin's.
 */
import type { IncomingMessage } from 'node:http';
import negotiator from 'cors';
import type { Middleware } from '../../../functions/src/pipeline/context.ts';

/** A `cors` middleware, as the package makes it. */
export type CorsNegotiator = ReturnType<typeof negotiator>;

/** The response cors writes to: setHeader and getHeader (which `vary` reads) on the pipeline's headers. */
class HeaderSink {
  readonly headers: Record<string, string>;
  constructor(headers: Record<string, string>) {
    this.headers = headers;
  }
  setHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  getHeader(name: string): string | undefined {
    return this.headers[name];
  }
  end(): never {
    throw new Error('cors tried to answer: it must be made with preflightContinue');
  }
}

/**
 * Runs cors's middleware on `req`, its headers going into `headers`. It finishes synchronously
 * (its options and origin are plain values and a synchronous function), so no promise is made.
 */
export function negotiate(handler: CorsNegotiator, req: IncomingMessage, headers: Record<string, string>): void {
  let finished = false;
  handler(req, new HeaderSink(headers), (error?: Error) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('cors did not finish synchronously');
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

  const allowOrigin = exactOrigin(new Set(options.origins));
  // An answer: the origin, credentials and the headers it may read.
  const forAnswers = negotiator({ origin: allowOrigin, credentials: true, exposedHeaders });
  // OPTIONS (answered or refused later, by cors.ts): the origin and credentials only; the
  // preflight's methods, headers and max age depend on the path, so cors.ts negotiates them.
  const forOptions = negotiator({ origin: allowOrigin, credentials: true, methods: [], allowedHeaders: [], preflightContinue: true });

  return async (ctx, next) => {
    const { req } = ctx;
    const isOptions = req.method === 'OPTIONS';
    const preflight = isOptions && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    ctx.responseHeaders.Vary = preflight ? 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' : 'Origin';
    negotiate(isOptions ? forOptions : forAnswers, req, ctx.responseHeaders);
    await next();
  };
}
