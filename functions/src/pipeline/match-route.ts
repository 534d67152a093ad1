import type { Middleware } from './context.ts';
import { MethodNotAllowedError, NotFoundError } from './errors.ts';
import type { Router } from './router.ts';

/** Finds the route's policy; everything after this stage acts on it. */
export function matchRoute(router: Router): Middleware {
  return async (ctx, next) => {
    const match = router.match(ctx.req.method ?? 'GET', ctx.path);
    if (match.kind === 'not-found') throw new NotFoundError('No such route.');
    if (match.kind === 'method-not-allowed') throw new MethodNotAllowedError(match.allowed);
    ctx.route = match.route;
    ctx.pathParams = match.params;
    await next();
  };
}
