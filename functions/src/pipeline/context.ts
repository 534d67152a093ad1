/**
 * What every stage of the pipeline sees. Written against node's own IncomingMessage and
 * ServerResponse, which Express's (and so Cloud Functions') req/res extend.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { CookieSession, Principal, Request, Services } from './inputs.ts';
import type { Route } from './route.ts';

/**
 * The tightest rate-limit bucket so far and its state, for the RateLimit-* headers
 * (rate-limit.ts fills it; declared here so that the context need not import that stage).
 */
export interface BucketState {
  bucket: { readonly points: number; readonly durationSeconds: number };
  result: { readonly remainingPoints: number; readonly msBeforeNext: number };
}

export interface Context {
  readonly req: Request;
  readonly res: ServerResponse;
  readonly startedAt: number;
  readonly services: Services;
  requestId: string;
  /** Fields every log line of this request carries (request id, trace). */
  logFields: Record<string, string>;
  /** A logger that adds `logFields` to each line. */
  readonly log: Logger;
  /** The client as rate limits count it: an IPv4 address or an IPv6 /64 (pipeline/client-ip.ts). */
  ip: string;
  /** Path with any query string removed. */
  path: string;
  /** The query string, without its `?` ('' when there is none). */
  readonly queryString: string;
  /** The query string's parameters, parsed on first use. */
  readonly searchParams: URLSearchParams;
  route: Route | undefined;
  /** Raw path parameters from the route pattern, before validation. */
  pathParams: Record<string, string>;
  principal: Principal | undefined;
  /** The browser session cookie, once the CSRF stage has accepted it. */
  session: CookieSession | undefined;
  /** The tightest rate-limit bucket so far, for the `RateLimit-*` headers. */
  rateLimit: BucketState | undefined;
  /** Headers of the response, gathered by the stages and written at once (see respond.ts). */
  responseHeaders: Record<string, string>;
  /** Validated input, set by the validation stage. */
  input: { params: unknown; query: unknown; body: unknown };
}

/** A stage's outcome: nothing when it finished at once, a promise when it waits (compose.ts). */
export type Outcome = void | Promise<void>;
export type Next = () => Outcome;
export type Middleware = (ctx: Context, next: Next) => Outcome;

export interface RequestContextInit {
  req: Request;
  res: ServerResponse;
  services: Services;
  logger: Logger;
  ip: string;
}

/** Placeholders until the stage that owns each sets its own (matchRoute, validate): shared, so frozen. */
const NO_PATH_PARAMS: Record<string, string> = Object.freeze({});
const NO_INPUT = Object.freeze({ params: undefined, query: undefined, body: undefined });

export class RequestContext implements Context {
  readonly req: Request;
  readonly res: ServerResponse;
  readonly startedAt = performance.now();
  readonly services: Services;
  requestId = '';
  logFields: Record<string, string> = {};
  ip: string;
  path: string;
  route: Route | undefined = undefined;
  pathParams: Record<string, string> = NO_PATH_PARAMS;
  principal: Principal | undefined = undefined;
  session: CookieSession | undefined = undefined;
  rateLimit: BucketState | undefined = undefined;
  responseHeaders: Record<string, string> = {};
  input: { params: unknown; query: unknown; body: unknown } = NO_INPUT;
  readonly #logger: Logger;
  #log: Logger | undefined;
  readonly queryString: string;
  #searchParams: URLSearchParams | undefined;

  constructor(init: RequestContextInit) {
    this.req = init.req;
    this.res = init.res;
    this.services = init.services;
    this.#logger = init.logger;
    this.ip = init.ip;
    const url = init.req.url ?? '/';
    const query = url.indexOf('?');
    this.path = query === -1 ? url : url.slice(0, query);
    this.queryString = query === -1 ? '' : url.slice(query + 1);
  }

  /** Parsed on first use: most requests have no query string. */
  get searchParams(): URLSearchParams {
    this.#searchParams ??= new URLSearchParams(this.queryString);
    return this.#searchParams;
  }

  /** Made on first use: most requests log only their access line. */
  get log(): Logger {
    this.#log ??= this.#logger.child(this.logFields);
    return this.#log;
  }
}
