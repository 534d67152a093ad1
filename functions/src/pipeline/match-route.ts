import type { Middleware } from './context.ts';
import { ApiError, MethodNotAllowedError } from '../errors/api-error.ts';
import type { Router } from './router.ts';

/** Finds the route's policy; everything after this stage acts on it. */
export function matchRoute(router: Router): Middleware {
  return (ctx, next) => {
    const match = router.match(ctx.req.method ?? 'GET', ctx.path);
    if (match.kind === 'not-found') throw new ApiError('not_found', { params: { what: 'route' } });
    if (match.kind === 'method-not-allowed') throw new MethodNotAllowedError(match.allowed);
    ctx.route = match.route;
    ctx.pathParams = match.params;
    return next();
  };
}
