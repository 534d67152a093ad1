/**
 * Security headers, from helmet configured for an API rather than for its HTML defaults.
 * JSON responses get the tightest CSP there is; a page we serve gets `default-src 'self'`
 * with no inline script or style. Plus `Cache-Control: no-store` (helmet leaves caching alone):
 * responses carry personal data and must not sit in shared or browser caches.
 */
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from './context.ts';

export type ContentKind = 'api' | 'page';

const TWO_YEARS = 2 * 365 * 24 * 60 * 60;

type Directives = Record<string, string[]>;

const directives: Record<ContentKind, Directives> = {
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
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
  },
};

export function helmetOptions(kind: ContentKind): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: directives[kind] },
    strictTransportSecurity: { maxAge: TWO_YEARS, includeSubDomains: true },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    xContentTypeOptions: true,
    xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
  };
}

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export function securityHeaders(options: { kind?: ContentKind } = {}): Middleware {
  const apply = helmet(helmetOptions(options.kind ?? 'api')) as unknown as NodeMiddleware;
  return async (ctx, next) => {
    apply(ctx.req, ctx.res, () => {});
    ctx.res.setHeader('Cache-Control', 'no-store');
    await next();
  };
}
