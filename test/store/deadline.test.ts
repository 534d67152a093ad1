/**
 * Deadlines for store calls (functions/src/store/deadline.ts), with stand-in work whose timing
 * the spec controls: a call is answered by its deadline whatever its work does; a commit
 * already sent (a held deadline) is waited for, and its outcome reported; work still running
 * after its caller was answered is counted, and past the bound new calls fail at once.
 */
import assert from 'node:assert/strict';
import { BoundedCalls } from '../../functions/src/store/deadline.ts';
import { StoreUnavailableError } from '../../functions/src/store/errors.ts';

const DEADLINE_MS = 100;

/** A promise the spec settles by hand. */
function pending<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    return { value: await promise, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

describe('store call deadlines', function () {
  const calls = (maxOutstanding = 10) => new BoundedCalls({ store: 'test', deadlineMs: DEADLINE_MS, maxOutstanding });

  it('fails a call whose work does not end with StoreUnavailableError, at the deadline', async function () {
    const outcome = await settled(calls().run('get', () => new Promise(() => {})));
    assert.ok(outcome.error instanceof StoreUnavailableError);
    assert.match((outcome.error as Error).message, /get did not complete within 100 ms/);
    assert.ok(outcome.ms >= DEADLINE_MS - 5 && outcome.ms < DEADLINE_MS + 100, `${outcome.ms} ms`);
  });

  it("hands back the work's own outcome when it comes first, value or error", async function () {
    const bounded = calls();
    assert.equal(await bounded.run('get', async () => 'value'), 'value');
    const mine = new Error('mine');
    assert.equal((await settled(bounded.run('get', () => Promise.reject(mine)))).error, mine);
  });

  it('waits, past the deadline, for a step that holds it, and reports how the step ended', async function () {
    const commit = pending<string>();
    const outcome = settled(
      calls().run('transaction', async (deadline) => {
        const release = deadline.hold();
        try {
          return await commit.promise;
        } finally {
          release();
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS * 2));
    commit.resolve('committed');
    const { value, ms } = await outcome;
    assert.equal(value, 'committed');
    assert.ok(ms >= DEADLINE_MS * 2 - 5, `${ms} ms`);
  });

  it('fails a held call at once when the step ends without settling the work', async function () {
    const step = pending();
    const bounded = calls();
    const outcome = settled(
      bounded.run('transaction', async (deadline) => {
        const release = deadline.hold();
        await step.promise;
        release();
        return new Promise(() => {});
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS * 2));
    step.resolve();
    const { error, ms } = await outcome;
    assert.ok(error instanceof StoreUnavailableError);
    assert.ok(ms < DEADLINE_MS * 2 + 100, `${ms} ms`);
  });

  it('counts work still running after its caller was answered, refuses new calls past the bound, and takes them again once it ends', async function () {
    const bounded = calls(2);
    const hung = [pending(), pending()];
    const answered = await Promise.all(hung.map((work) => settled(bounded.run('get', () => work.promise))));
    assert.ok(answered.every(({ error }) => error instanceof StoreUnavailableError));
    assert.equal(bounded.outstanding, 2);

    const refused = await settled(bounded.run('get', async () => 'never run'));
    assert.ok(refused.error instanceof StoreUnavailableError);
    assert.ok(refused.ms < DEADLINE_MS / 2, 'at once, not at the deadline');

    const idle = bounded.idle(10_000);
    for (const work of hung) work.resolve();
    await idle;
    assert.equal(bounded.outstanding, 0);
    assert.equal(await bounded.run('get', async () => 'taken'), 'taken');
  });
});
