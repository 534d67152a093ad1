/**
 * The bounded line for costly work (password hashing and checks, image decoding): so many run
 * at once, so many wait (first come, first served, and not forever), and one more is refused at
 * once, never started.
 */
import assert from 'node:assert/strict';
import { createWorkQueue, WorkQueueBusyError } from '../functions/src/work-queue.ts';

/** A job the spec finishes by hand, which records how many jobs ran at the same time. */
function jobs() {
  let running = 0;
  let most = 0;
  const started: string[] = [];
  const finishers = new Map<string, (outcome?: Error) => void>();
  const job = (name: string) => () =>
    new Promise<string>((resolve, reject) => {
      running += 1;
      most = Math.max(most, running);
      started.push(name);
      finishers.set(name, (error) => {
        running -= 1;
        if (error) reject(error);
        else resolve(name);
      });
    });
  const finish = (name: string, error?: Error) => finishers.get(name)!(error);
  return { job, finish, started, most: () => most };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('work queue', function () {
  it('runs at most `concurrency` jobs at once, the others in the order they came', async function () {
    const queue = createWorkQueue({ concurrency: 2, maxWaiting: 10 });
    const { job, finish, started, most } = jobs();
    const results = ['a', 'b', 'c', 'd', 'e'].map((name) => queue.run(job(name)));
    await tick();
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(queue.running, 2);
    assert.equal(queue.waiting, 3);
    finish('b');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c']);
    for (const name of ['a', 'c', 'd', 'e']) {
      finish(name);
      await tick();
    }
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(most(), 2);
    assert.equal(queue.running, 0);
  });

  it('refuses one more than `maxWaiting` at once, without running it', async function () {
    const queue = createWorkQueue({ concurrency: 1, maxWaiting: 2 });
    const { job, finish, started } = jobs();
    const accepted = ['a', 'b', 'c'].map((name) => queue.run(job(name)));
    await assert.rejects(queue.run(job('d')), (error: unknown) => error instanceof WorkQueueBusyError && error.reason === 'full');
    for (const name of ['a', 'b', 'c']) {
      await tick();
      finish(name);
    }
    await Promise.all(accepted);
    assert.deepEqual(started, ['a', 'b', 'c'], 'd never ran');
  });

  it('with no line at all, refuses whatever finds every slot taken', async function () {
    const queue = createWorkQueue({ concurrency: 1, maxWaiting: 0 });
    const { job, finish } = jobs();
    const first = queue.run(job('held'));
    await assert.rejects(
      queue.run(async () => 'late'),
      WorkQueueBusyError,
    );
    finish('held');
    assert.equal(await first, 'held');
  });

  it('passes a failed job’s slot on to the next', async function () {
    const queue = createWorkQueue({ concurrency: 1, maxWaiting: 1 });
    const { job, finish, started } = jobs();
    const failing = queue.run(job('a'));
    const next = queue.run(job('b'));
    await tick();
    finish('a', new Error('scrypt failed'));
    await assert.rejects(failing, /scrypt failed/);
    await tick();
    assert.deepEqual(started, ['a', 'b']);
    finish('b');
    assert.equal(await next, 'b');
  });

  it('refuses a job still waiting after `maxWaitMs`, and never starts it', async function () {
    const queue = createWorkQueue({ concurrency: 1, maxWaiting: 5, maxWaitMs: 50 });
    const { job, finish, started } = jobs();
    const first = queue.run(job('a'));
    const waited = performance.now();
    await assert.rejects(queue.run(job('b')), (error: unknown) => error instanceof WorkQueueBusyError && error.reason === 'waited too long');
    assert.ok(performance.now() - waited >= 45);
    assert.equal(queue.waiting, 0, 'out of the line');
    finish('a');
    await first;
    await tick();
    assert.deepEqual(started, ['a']);
    assert.equal(queue.running, 0);
  });

  it('refuses unknown or impossible options at construction', function () {
    assert.throws(() => createWorkQueue({ concurrency: 1, maxWaiting: 1, maxWait: 5 } as never), /unknown work-queue option: maxWait/);
    assert.throws(() => createWorkQueue({ concurrency: 0, maxWaiting: 1 }), /concurrency/);
    assert.throws(() => createWorkQueue({ concurrency: 1.5, maxWaiting: 1 }), /concurrency/);
    assert.throws(() => createWorkQueue({ concurrency: 1, maxWaiting: -1 }), /maxWaiting/);
    assert.throws(() => createWorkQueue({ concurrency: 1, maxWaiting: 1, maxWaitMs: 0 }), /maxWaitMs/);
  });
});
