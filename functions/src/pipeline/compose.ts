/**
 * Koa/hono-style onion: each middleware runs, calls `next()` to run the rest, then may act
 * after. Unlike theirs, a middleware may finish synchronously: it returns `next()`'s outcome
 * (or nothing, having answered), and a chain of such stages runs as plain calls, with no
 * promise per stage — most requests meet a promise only where a stage really waits (a store
 * read, a token not yet verified). A stage that waits returns a promise, and everything above
 * it gets that promise back from its `next()`. Errors travel up either way: thrown, or as the
 * promise's rejection; `afterNext` runs a stage's own "after" for both.
 *
 * Like hono's, it refuses a `next()` called twice by one middleware: the rest of the pipeline
 * (the handler included) would run again on one request, which is always a bug.
 */
import type { Context, Middleware, Next, Outcome } from './context.ts';

export class NextCalledTwiceError extends Error {
  override readonly name = 'NextCalledTwiceError';
}

export function compose(middlewares: readonly Middleware[]): (ctx: Context) => Outcome {
  return (ctx) => {
    let reached = -1;
    const dispatch = (index: number): Outcome => {
      if (index <= reached) throw new NextCalledTwiceError(`next() called more than once by middleware ${index - 1}`);
      reached = index;
      const middleware = middlewares[index];
      return middleware?.(ctx, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}

/** What was thrown, as an Error (a non-Error thrown by a library is kept as the cause). */
const asError = (thrown: unknown): Error => (thrown instanceof Error ? thrown : new Error('a stage threw something other than an Error', { cause: thrown }));

/**
 * Runs `next`, then `after` with its error (undefined when it succeeded), whether it ended at
 * once or later; `after` may recover (return) or pass the error on (throw).
 */
export function afterNext(next: Next, after: (error: Error | undefined) => void): Outcome {
  let pending: Outcome;
  try {
    pending = next();
  } catch (thrown) {
    after(asError(thrown));
    return;
  }
  if (!pending) return after(undefined);
  return pending.then(
    () => after(undefined),
    (thrown: unknown) => after(asError(thrown)),
  );
}
