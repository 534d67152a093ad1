/**
 * What every stage of the pipeline sees. Written against node's own IncomingMessage and
 * ServerResponse, which Express's (and so Cloud Functions') req/res extend.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'winston';
import type { Role } from '../config/index.ts';
import type { SigningKeys } from '../config/signing-keys.ts';
import type { DocumentStore } from '../store/port.ts';
import type { Route } from './route.ts';

/** Cloud Functions has already read the body into `rawBody`; elsewhere we stream it. */
export type Request = IncomingMessage & { rawBody?: Buffer };

export interface Principal {
  subject: string;
  /** The roles this request may act with: the token's roles that the route grants, MFA permitting. */
  roles: readonly Role[];
  mfa: boolean;
}

/** Long-lived services the handlers use, created once per process. */
export interface Services {
  store: DocumentStore;
  signingKeys: SigningKeys;
}

export interface Context {
  readonly req: Request;
  readonly res: ServerResponse;
  readonly startedAt: number;
  readonly services: Services;
  requestId: string;
  log: Logger;
  /** Client address (see TRUSTED_PROXY_HOPS). */
  ip: string;
  /** Path with any query string removed. */
  path: string;
  searchParams: URLSearchParams;
  route: Route | undefined;
  /** Raw path parameters from the route pattern, before validation. */
  pathParams: Record<string, string>;
  principal: Principal | undefined;
  /** Validated input, set by the validation stage. */
  input: { params: unknown; query: unknown; body: unknown };
}

export type Next = () => Promise<void>;
export type Middleware = (ctx: Context, next: Next) => Promise<void>;
