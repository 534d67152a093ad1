/**
 * The security pipeline, composed in one visible place. Every request to every function
 * passes through the same stages, in this order; each stage is one module in pipeline/.
 */
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { appCheck, appCheckModeOf } from './pipeline/app-check.ts';
import { authenticate } from './pipeline/authenticate.ts';
import { authorize } from './pipeline/authorize.ts';
import { clientIp, forwardingChain } from './pipeline/client-ip.ts';
import { compose } from './pipeline/compose.ts';
import { RequestContext, type Middleware } from './pipeline/context.ts';
import type { Request } from './pipeline/inputs.ts';
import { cors } from './pipeline/cors.ts';
import { corsHeaders } from './pipeline/cors-headers.ts';
import { csrf } from './pipeline/csrf.ts';
import { isValidCsrfToken } from './auth/csrf.ts';
import { readSessionCookie } from './auth/session-cookie.ts';
import { errorMapper } from './pipeline/error-mapper.ts';
import { handle } from './pipeline/handle.ts';
import { matchRoute } from './pipeline/match-route.ts';
import { rateLimitByIp, rateLimitByUser } from './pipeline/rate-limit.ts';
import { requestContext } from './pipeline/request-context.ts';
import type { FunctionName, Route } from './pipeline/route.ts';
import { Router, methodsFor } from './pipeline/router.ts';
import { securityHeaders } from './pipeline/security-headers.ts';
import { signedRequest } from './pipeline/signed-request.ts';
import { staticFiles } from './pipeline/static-files.ts';
import { firebaseWebSignIn, signInOrigins, type FirebaseWebSignIn } from './auth/firebase-web-sign-in.ts';
import { validate } from './pipeline/validate.ts';
import type { Runtime } from './runtime.ts';

export type RequestHandler = (req: Request, res: ServerResponse) => Promise<void>;

export const FUNCTION_NAMES: readonly FunctionName[] = ['auth', 'items', 'uploads'];

/** The local server's web app (Firebase Hosting serves it when deployed). */
const WEB_APP = fileURLToPath(new URL('../../web/dist', import.meta.url));

function pipelineFor(runtime: Runtime, router: Router | undefined, webSignIn: FirebaseWebSignIn | null): Middleware[] {
  const { config, logger, buckets, verify } = runtime;
  const context = requestContext({ logger, projectId: config.store.projectId }); // request id, logs
  if (!router) {
    // Anything outside the functions: the web app's files (with the headers of a page), or a JSON 404.
    return [context, errorMapper(), securityHeaders(), rateLimitByIp(buckets), staticFiles({ root: WEB_APP, connectSources: signInOrigins(webSignIn) })];
  }
  return [
    context,
    errorMapper(), // one JSON error shape; no internals
    securityHeaders(), // helmet, for JSON
    corsHeaders({ origins: config.cors.origins }), // so an allowed origin can read any answer, a 429 included
    rateLimitByIp(buckets), // global, per IP: every request counts once, before anything answers or refuses it
    cors({ origins: config.cors.origins, methodsFor: (path) => methodsFor(router, path) }), // preflights; foreign origins refused
    matchRoute(router), // 404 / 405; the route's policy from here on
    signedRequest({
      verify: async (...request) => (await import('./auth/service-credentials.ts')).verifySignedRequest(runtime.store, config.auth, ...request),
      bodyLimitBytes: config.bodyLimitBytes,
    }), // service credentials: HMAC-signed requests
    appCheck({ modeFor: (route) => appCheckModeOf(route, config.appCheck.modes), verifier: () => runtime.appCheck() }), // X-Firebase-AppCheck, of apps
    authenticate({ verify, firebase: config.firebaseAuth.enabled ? () => runtime.firebaseTokens() : undefined }), // JWT (jose; Firebase ID tokens with firebase-admin), cached until exp
    rateLimitByUser(buckets), // the route's buckets, per user
    authorize(), // roles and MFA step-up
    csrf({
      readSession: (req) => readSessionCookie(req, config.auth.sessionCookieName),
      verifyToken: (sessionId, token) => isValidCsrfToken(config.auth, sessionId, token),
      origins: config.cors.origins,
    }), // cookie sessions: origin + token
    validate({ bodyLimitBytes: config.bodyLimitBytes }), // zod: params, query, body
    handle(), // the route's handler
  ];
}

function toHandler(runtime: Runtime, router: Router | undefined): RequestHandler {
  const { config } = runtime;
  const webSignIn = firebaseWebSignIn(config.firebaseAuth);
  const run = compose(pipelineFor(runtime, router, webSignIn));
  const services = {
    store: runtime.store,
    blobs: runtime.blobs,
    auth: config.auth,
    uploads: config.uploads,
    rateLimits: config.rateLimits,
    appCheckModes: config.appCheck.modes,
    firebaseAuth: config.firebaseAuth.enabled,
    firebaseWebSignIn: webSignIn,
    mailer: () => runtime.mailer(),
    breachedPasswords: () => runtime.breachedPasswords(),
    appUrl: config.mail.appUrl,
  };
  const ipOf = clientIp({ trustedProxyHops: config.trustedProxyHops, trustedProxies: config.trustedProxies });
  const { logger } = runtime;
  // What isDebugEnabled() answers for transports without a level of their own (logger.ts makes
  // none), without its walk over the transports: about 1k instructions a request.
  const debugLogged = () => logger.levels[logger.level]! >= logger.levels.debug!;
  return async (req, res) => {
    const ctx = new RequestContext({ req, res, services, logger, ip: ipOf(req) });
    try {
      await run(ctx);
      // The raw chain next to the address taken from it, so an operator can check the rule.
      if (debugLogged() && req.headers['x-forwarded-for'] !== undefined) {
        ctx.log.debug('client address', { ip: ctx.ip, ...forwardingChain(req) });
      }
    } catch (error) {
      // Only reachable if logging itself failed: never leave the client hanging.
      logger.error('pipeline failed outside the error mapper', { err: error });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
}

/**
 * The handler of one function, as Cloud Functions hosts it, given that function's routes (its
 * entry, index.ts, loads only those). Without them (tests, tools) it loads every route on its
 * first request.
 */
export function createFunctionHandler(name: FunctionName, runtime: Runtime, routes?: readonly Route[]): RequestHandler {
  if (!routes) return deferred(async () => createFunctionHandler(name, runtime, await everyRoute()));
  return toHandler(runtime, new Router(name, routes));
}

/**
 * Paths outside the functions' own prefixes, and the function that answers them: Firebase
 * Hosting rewrites them (firebase.json) and the local server routes them the same way.
 */
export const ROOT_PATHS: Readonly<Record<string, FunctionName>> = { '/openapi.json': 'auth' };

/**
 * Every function behind one handler, by the first path segment: the local server. Without a
 * list it serves every route (routes.ts), loaded on its first request: this module is also
 * what each deployed function loads, and must not load the others' code.
 */
export function createLocalHandler(runtime: Runtime, routes?: readonly Route[]): RequestHandler {
  if (!routes) return deferred(async () => createLocalHandler(runtime, await everyRoute()));
  const byName = new Map(FUNCTION_NAMES.map((name) => [name, createFunctionHandler(name, runtime, routes)]));
  const notFound = toHandler(runtime, undefined);
  return (req, res) => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    // A root path lies outside every function's prefix: its first segment names none of them.
    const handler = byName.get(firstSegment(path) as FunctionName) ?? (Object.hasOwn(ROOT_PATHS, path) ? byName.get(ROOT_PATHS[path]!) : undefined);
    return (handler ?? notFound)(req, res);
  };
}

/** `path.split('/', 2)[1]` without the array: what follows the first '/', up to the next. */
function firstSegment(path: string): string | undefined {
  const start = path.indexOf('/') + 1;
  if (start === 0) return undefined;
  const end = path.indexOf('/', start);
  return end === -1 ? path.slice(start) : path.slice(start, end);
}

async function everyRoute(): Promise<readonly Route[]> {
  return (await import('./routes.ts')).routes;
}

/** A handler built on its first request (and again after a failed build); once built, called directly. */
function deferred(build: () => Promise<RequestHandler>): RequestHandler {
  let building: Promise<RequestHandler> | undefined;
  let built: RequestHandler | undefined;
  return async (req, res) => {
    if (built) return built(req, res);
    building ??= build().then(
      (handler) => (built = handler),
      (error: unknown) => {
        building = undefined;
        throw error;
      },
    );
    await (
      await building
    )(req, res);
  };
}
