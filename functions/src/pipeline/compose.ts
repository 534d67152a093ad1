import type { Context, Middleware } from './context.ts';

/** Koa/hono-style onion: each middleware runs, calls `next()` to run the rest, then may act after. */
export function compose(middlewares: readonly Middleware[]): (ctx: Context) => Promise<void> {
  return (ctx) => {
    const dispatch = (index: number): Promise<void> => {
      const middleware = middlewares[index];
      return middleware ? middleware(ctx, () => dispatch(index + 1)) : Promise.resolve();
    };
    return dispatch(0);
  };
}
