/**
 * The shape of a route's policy. Every route is declared with `defineRoute` in its function's
 * routes.ts (auth/, items/, uploads/; the document's in docs/routes.ts; all of them listed in
 * src/routes.ts): method, path, who may call it, rate-limit buckets, input schemas, handler.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'winston';
import type { z } from 'zod';
import type { AppCheckMode, Role } from '../config/index.ts';
import type { CookieSession, Principal, Request, Services } from './inputs.ts';

export type FunctionName = 'auth' | 'items' | 'uploads';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Buckets a route draws from besides the per-IP global one (see rate-limit.ts). */
export type BucketName = 'api' | 'create';

/** Who may read (every role) and who may write (every role but viewer): the two audiences most routes name. */
export const READERS = ['viewer', 'user', 'admin'] as const;
export const WRITERS = ['user', 'admin'] as const;

export type Access =
  | { public: true }
  | {
      /** Roles that may call the route. */
      roles: readonly Role[];
      /** Of those, roles that may use it only with a multi-factor sign-in (`amr` has `mfa`). */
      mfa?: readonly Role[];
      /**
       * Whether an account whose address is not yet verified may call it. Not by default: such an
       * account may sign in, and use only the routes that say so (reads, its own verification).
       */
      allowUnverified?: true;
    };

export interface Reply {
  status: number;
  /** Sent as JSON. */
  body?: unknown;
  /** Or these bytes, streamed as they are (give Content-Type and Content-Length in `headers`). */
  stream?: Readable;
  headers?: Record<string, string>;
}

/**
 * What a handler is called with. `Caller` is who is asking: always a Principal on a route that
 * is not public; on a public one, a Principal only if the request happened to carry a token
 * (it is not checked there, so a public route's handler must not rely on it).
 */
export interface HandlerInput<P, Q, B, Caller extends Principal | undefined = Principal> {
  params: P;
  query: Q;
  body: B;
  principal: Caller;
  requestId: string;
  /** The client as rate limits count it: an IPv4 address or an IPv6 /64 (pipeline/client-ip.ts). */
  ip: string;
  /** The browser session cookie, on `cookieSession` routes, CSRF-checked. */
  session: CookieSession | undefined;
  /** The request itself, for `multipart` routes, whose handlers stream the body. */
  request: Request;
  log: Logger;
  services: Services;
}

type Schema = z.ZodType;

/** What a route answers when it succeeds: documented, and the contract clients are generated from. */
export interface Success {
  status: 200 | 201 | 202 | 204;
  description: string;
  /** The JSON body's schema (none for 204). */
  body?: z.ZodType;
  /** Or raw bytes, of one of these media types. */
  media?: readonly string[];
}

/** Statuses a handler itself may answer besides the pipeline's own (see docs/openapi.ts). */
export type HandlerFailure = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** Who a route's handler is called for: anyone on a public route, a Principal on any other. */
export type CallerOf<A extends Access> = A extends { public: true } ? Principal | undefined : Principal;

export interface RouteSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined, A extends Access = Access> {
  /** Stable name, e.g. `items.create`: used in logs, rate-limit keys and documentation. */
  id: string;
  function: FunctionName;
  method: Method;
  /** Full path with `:name` parameters, e.g. `/items/:id`. */
  path: string;
  summary: string;
  access: A;
  rateLimit: readonly BucketName[];
  /** Takes the browser session cookie as its credential; such requests are CSRF-checked. */
  cookieSession?: boolean;
  /** Takes a multipart/form-data body, which the handler streams; validation checks only its type. */
  multipart?: boolean;
  /**
   * App Check (pipeline/app-check.ts): `mode` instead of the function's configured one, and
   * `consume` to take each token once (for limited-use tokens, on routes worth replaying).
   */
  appCheck?: { mode?: AppCheckMode; consume?: true };
  params?: P;
  query?: Q;
  body?: B;
  success: Success;
  failures?: readonly HandlerFailure[];
  handler: (input: HandlerInput<Out<P>, Out<Q>, Out<B>, CallerOf<A>>) => Promise<Reply>;
}

export type Route = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;

export function defineRoute<
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
  A extends Access = Access,
>(spec: RouteSpec<P, Q, B, A>): Route {
  return spec;
}

export function isPublic(access: Access): access is { public: true } {
  return 'public' in access;
}
