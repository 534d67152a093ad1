/**
 * Security headers, from helmet configured for an API rather than for its HTML defaults.
 * JSON responses get the tightest CSP there is; a page we serve gets `default-src 'self'`
 * with no inline script or style. Plus `Cache-Control: private, no-store` (helmet leaves caching
 * alone): responses carry personal data and must not sit in shared or browser caches, and
 * Firebase Hosting passes a function's `Set-Cookie` on only when `Cache-Control` says `private`.
 */
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from './context.ts';
import { CACHE_CONTROL } from './respond.ts';

export type ContentKind = 'api' | 'page';

const TWO_YEARS = 2 * 365 * 24 * 60 * 60;

const directives: Record<ContentKind, Record<string, string[]>> = {
  api: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
  page: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    // data: for the QR code the API makes; blob: for uploaded images fetched with the token.
    imgSrc: ["'self'", 'data:', 'blob:'],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
  },
};

export interface PageOptions {
  /**
   * Origins a page may connect to besides its own (CSP connect-src): Firebase Auth's, where the
   * web app signs Firebase users in (auth/firebase-web-sign-in.ts); none by default.
   */
  connectSources?: readonly string[];
}

export function helmetOptions(kind: ContentKind, options: PageOptions = {}): HelmetOptions {
  const forPages = kind === 'page';
  const connectSources = forPages ? (options.connectSources ?? []) : [];
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: connectSources.length > 0 ? { ...directives[kind], connectSrc: ["'self'", ...connectSources] } : directives[kind],
    },
    strictTransportSecurity: { maxAge: TWO_YEARS, includeSubDomains: true },
    xFrameOptions: { action: 'deny' },
    xContentTypeOptions: true,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    // Headers that only mean something to documents, or to browsers long gone (IE, Flash).
    originAgentCluster: forPages,
    xDnsPrefetchControl: forPages ? { allow: false } : false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  };
}

/** helmet's headers are fixed for fixed options: record them once, set them on every response. */
export function recordHelmetHeaders(kind: ContentKind, options: PageOptions = {}): [string, string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string | number) => headers.push([name, String(value)]),
    removeHeader: () => {},
    getHeader: () => undefined,
  };
  helmet(helmetOptions(kind, options))({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return [...headers, ['Cache-Control', CACHE_CONTROL]];
}

export function securityHeaders(options: { kind?: ContentKind } = {}): Middleware {
  const headers = Object.fromEntries(recordHelmetHeaders(options.kind ?? 'api'));
  return (ctx, next) => {
    // A copy of the fixed block with what earlier stages set (the request id) added: V8 clones
    // an object spread first at once, where assigning its properties one by one costs ~10 times as much.
    ctx.responseHeaders = { ...headers, ...ctx.responseHeaders };
    return next();
  };
}
