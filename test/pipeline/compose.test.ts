/**
 * The onion the pipeline is made of: middlewares run in order, each may act after the rest,
 * an error goes back up through them, and a `next()` called twice is refused instead of running
 * the rest of the pipeline (the handler included) a second time. Stages that finish at once run
 * as plain calls; a stage that waits hands its promise up.
 */
import assert from 'node:assert/strict';
import { afterNext, compose, NextCalledTwiceError } from '../../functions/src/pipeline/compose.ts';
import type { Context, Middleware } from '../../functions/src/pipeline/context.ts';

const ctx = {} as Context;

describe('compose', function () {
  it('runs each middleware in order, and lets each act after the rest', async function () {
    const order: string[] = [];
    const step =
      (name: string): Middleware =>
      async (_ctx, next) => {
        order.push(`${name} in`);
        await next();
        order.push(`${name} out`);
      };
    await compose([step('a'), step('b'), step('c')])(ctx);
    assert.deepEqual(order, ['a in', 'b in', 'c in', 'c out', 'b out', 'a out']);
  });

  it('passes an error thrown below back up, where a middleware may catch it', async function () {
    let caught: unknown;
    const catcher: Middleware = async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        caught = error;
      }
    };
    const thrower: Middleware = () => {
      throw new Error('below');
    };
    await compose([catcher, thrower])(ctx);
    assert.equal((caught as Error).message, 'below');
  });

  it('refuses a next() called twice, and the rest runs once', async function () {
    let handled = 0;
    const twice: Middleware = async (_ctx, next) => {
      await next();
      await next();
    };
    const handler: Middleware = async () => {
      handled += 1;
    };
    await assert.rejects(async () => compose([twice, handler])(ctx), NextCalledTwiceError);
    assert.equal(handled, 1);
  });

  it('runs stages that finish at once as plain calls: no promise unless a stage waits', async function () {
    const order: string[] = [];
    const at =
      (name: string): Middleware =>
      (_ctx, next) => {
        order.push(name);
        return next();
      };
    const handler: Middleware = () => void order.push('handler');
    assert.equal(compose([at('a'), at('b'), handler])(ctx), undefined, 'finished before compose returned');
    assert.deepEqual(order, ['a', 'b', 'handler']);

    const waits: Middleware = async (_ctx, next) => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('waited');
      return next();
    };
    order.length = 0;
    const pending = compose([at('a'), waits, at('b'), handler])(ctx);
    assert.ok(pending instanceof Promise, 'a stage that waits hands its promise up');
    assert.deepEqual(order, ['a']);
    await pending;
    assert.deepEqual(order, ['a', 'waited', 'b', 'handler']);
  });

  it('lets afterNext act after the rest however it ended: at once or later, well or with an error', async function () {
    const seen: unknown[] = [];
    const after: Middleware = (_ctx, next) =>
      afterNext(next, (error) => {
        seen.push(error === undefined ? 'ok' : error.message);
      });
    const fine: Middleware = () => undefined;
    const throwsAtOnce: Middleware = () => {
      throw new Error('at once');
    };
    const rejectsLater: Middleware = async () => {
      await Promise.resolve();
      throw new Error('later');
    };
    const finishesLater: Middleware = async () => {
      await Promise.resolve();
    };
    for (const below of [fine, throwsAtOnce, rejectsLater, finishesLater]) await compose([after, below])(ctx);
    assert.deepEqual(seen, ['ok', 'at once', 'later', 'ok']);

    // An `after` that throws passes the error on, at once or as the rejection.
    const rethrow: Middleware = (_ctx, next) =>
      afterNext(next, (error) => {
        if (error !== undefined) throw error;
      });
    assert.throws(() => compose([rethrow, throwsAtOnce])(ctx), /at once/);
    await assert.rejects(async () => compose([rethrow, rejectsLater])(ctx), /later/);
  });
});
