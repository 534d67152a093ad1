/**
 * The one error a client may see: raised by its declared code (catalog.ts) with the values its
 * message names, never with a status or a free-form message. Domain modules raise it too (a
 * guessing limit, the last admin): the status and the HTTP headers are the error mapper's
 * business, read from the catalog. Anything else thrown is internal: a bare 500.
 */
import { ERRORS, type ErrorCode } from './catalog.ts';

type Template<C extends ErrorCode> = (typeof ERRORS)[C]['message'];

/** The `{name}`s of a message template. */
type Placeholders<S extends string> = S extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** The values a code's message needs, by name. */
export type ErrorParams<C extends ErrorCode> = Readonly<Record<Placeholders<Template<C>>, string | number>>;

export interface ApiErrorOptions {
  /** Structured, for programs: which fields failed, what was seen, the limit. */
  details?: unknown;
  /** Headers the answer must carry beyond the catalog's (Allow, RateLimit-*, Connection). */
  headers?: Readonly<Record<string, string>>;
  /** When a retry may succeed: sent as Retry-After. 503s default to 1 s. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

type TakesParams<C extends ErrorCode> = [Placeholders<Template<C>>] extends [never] ? false : true;

/** What raising `C` takes: the values its message names (`params`), when it names any, and options. */
export type ApiErrorInit<C extends ErrorCode> = ApiErrorOptions & (TakesParams<C> extends true ? { params: ErrorParams<C> } : { params?: never });

/** A code whose message names values must be given them; any other may be raised bare. */
export type ApiErrorArgs<C extends ErrorCode> = TakesParams<C> extends true ? [init: ApiErrorInit<C>] : [init?: ApiErrorInit<C>];

const PLACEHOLDER = /\{(\w+)\}/g;

function format(template: string, params: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export class ApiError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'ApiError';
  readonly code: C;
  readonly details: unknown;
  /** Its own headers; a stage may add `Connection: close` when the rest of the body is not worth reading. */
  readonly headers: Record<string, string>;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: C, ...[init]: ApiErrorArgs<C>) {
    const options: ApiErrorOptions & { params?: Readonly<Record<string, string | number>> } = init ?? {};
    super(format(ERRORS[code].message, options.params), { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.headers = { ...options.headers };
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** From the catalog, for the error mapper. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** Too many of something (requests, failed sign-ins, wrong codes): 429 with Retry-After. */
export class RateLimitedError extends ApiError<'rate_limited'> {
  override name = 'RateLimitedError';

  constructor(retryAfterSeconds: number, what = 'requests', headers?: Readonly<Record<string, string>>) {
    super('rate_limited', { params: { what, seconds: retryAfterSeconds }, retryAfterSeconds, ...(headers ? { headers } : {}) });
  }
}

/** The path exists, the method does not: 405 with Allow. */
export class MethodNotAllowedError extends ApiError<'method_not_allowed'> {
  override name = 'MethodNotAllowedError';

  constructor(allowed: readonly string[]) {
    super('method_not_allowed', { params: { allowed: allowed.join(', ') }, headers: { Allow: allowed.join(', ') } });
  }
}
