/**
 * The onion the pipeline is made of: middlewares run in order, each may act after the rest,
 * an error goes back up through them, and a `next()` called twice is refused instead of running
 * the rest of the pipeline (the handler included) a second time.
 */
import assert from 'node:assert/strict';
import { compose, NextCalledTwiceError } from '../../functions/src/pipeline/compose.ts';
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
    await assert.rejects(compose([twice, handler])(ctx), NextCalledTwiceError);
    assert.equal(handled, 1);
  });
});
