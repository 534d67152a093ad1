/**
 * App Check on HTTP functions. Each function has a mode in configuration (APP_CHECK_AUTH,
 * _ITEMS, _UPLOADS), which a route's policy may override (`appCheck.mode`):
 * - `off`: the header is not looked at;
 * - `monitor`: the token is verified and the verdict logged (`app_check.monitor`), and the
 *   request goes on whatever it is — the way to see who would be refused before enforcing;
 * - `enforce`: a request without a valid token is refused, 401 app_check_missing,
 *   app_check_invalid or app_check_replayed; keys that cannot be fetched answer 503
 *   app_check_unavailable.
 * Routes that declare `appCheck.consume` take each token once (auth/app-check.ts). A signed
 * server-to-server request, verified before this stage, is not asked for a token.
 */
import type { AppCheckMode, Config } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import type { ErrorCode } from '../errors/catalog.ts';
import type { AppCheckVerifier } from '../auth/app-check.ts';
import type { Context, Middleware } from './context.ts';
import type { Route } from './route.ts';

/** Where clients send the token (Firebase's SDKs' name for it). */
export const APP_CHECK_HEADER = 'x-firebase-appcheck';

/** A route's mode: its own, or else its function's. */
export function appCheckModeOf(route: Route, modes: Config['appCheck']['modes']): AppCheckMode {
  return route.appCheck?.mode ?? modes[route.function];
}

export interface AppCheckOptions {
  /** The route's mode: its own, or its function's. */
  modeFor: (route: Route) => AppCheckMode;
  /** The verifier, made on first use (off everywhere, it is never made). */
  verifier: () => Promise<AppCheckVerifier>;
}

export function appCheck({ modeFor, verifier }: AppCheckOptions): Middleware {
  async function check(ctx: Context, route: Route, mode: AppCheckMode): Promise<void> {
    const header = ctx.req.headers[APP_CHECK_HEADER];
    try {
      if (typeof header !== 'string' || header === '') throw new ApiError('app_check_missing');
      const claims = await (await verifier()).verify(header, { consume: route.appCheck?.consume === true });
      ctx.logFields.appId = claims.appId;
    } catch (error) {
      if (mode === 'enforce') throw error;
      // Monitoring never refuses, whatever went wrong: it only tells.
      const code: ErrorCode = error instanceof ApiError ? (error as ApiError).code : 'internal_error';
      ctx.log.warn('App Check would refuse this request', { event: 'app_check.monitor', code, route: route.id });
      return;
    }
    if (mode === 'monitor') ctx.log.debug('App Check token valid', { event: 'app_check.monitor', code: 'ok', route: route.id });
  }

  return (ctx, next) => {
    const route = ctx.route!;
    const mode = modeFor(route);
    // A signed server-to-server request (signed-request.ts) proves its caller itself: App Check attests apps, not servers.
    if (mode === 'off' || ctx.principal) return next();
    return check(ctx, route, mode).then(next);
  };
}
