/**
 * Koa/hono-style onion: each middleware runs, calls `next()` to run the rest, then may act
 * after. Like hono's, it refuses a `next()` called twice by one middleware: the rest of the
 * pipeline (the handler included) would run again on one request, which is always a bug.
 */
import type { Context, Middleware } from './context.ts';

export class NextCalledTwiceError extends Error {
  override readonly name = 'NextCalledTwiceError';
}

export function compose(middlewares: readonly Middleware[]): (ctx: Context) => Promise<void> {
  return (ctx) => {
    let reached = -1;
    const dispatch = (index: number): Promise<void> => {
      if (index <= reached) return Promise.reject(new NextCalledTwiceError(`next() called more than once by middleware ${index - 1}`));
      reached = index;
      const middleware = middlewares[index];
      if (!middleware) return Promise.resolve();
      try {
        return Promise.resolve(middleware(ctx, () => dispatch(index + 1)));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    return dispatch(0);
  };
}
