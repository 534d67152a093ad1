/**
 * The rate-limiter-flexible store on the document-store port (functions/src/store/
 * rate-limiter-store.ts), through the library's own API: consume, get, delete, block, penalty,
 * reward. Counters are documents with an `expiresAt`, so windows end by expiry; two limiters on
 * one store (two function instances) never admit more than the limit between them.
 */
import assert from 'node:assert/strict';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { StoreUnavailableError } from '../../functions/src/store/errors.ts';
import type { Transaction } from '../../functions/src/store/port.ts';
import { RateLimiterDocumentStore } from '../../functions/src/store/rate-limiter-store.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { withOverrides } from '../support/stores.ts';

describe('RateLimiterDocumentStore', function () {
  let store: SqliteDocumentStore;

  beforeEach(function () {
    store = new SqliteDocumentStore({ path: ':memory:' });
  });

  afterEach(async function () {
    await store.close();
  });

  const limiter = (points: number, duration = 60) => new RateLimiterDocumentStore({ store, keyPrefix: 'test', points, duration });

  async function rejection(promise: Promise<unknown>): Promise<RateLimiterRes> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof RateLimiterRes, `rejected with ${String(error)}`);
      return error;
    }
    assert.fail('expected a rejection');
  }

  it('consumes points, counting remaining ones down', async function () {
    const rl = limiter(3);
    const results = [await rl.consume('k'), await rl.consume('k'), await rl.consume('k')];
    assert.deepEqual(results.map((r) => r.remainingPoints), [2, 1, 0]);
    assert.deepEqual(results.map((r) => r.consumedPoints), [1, 2, 3]);
    assert.ok(results.every((r) => r.msBeforeNext > 0 && r.msBeforeNext <= 60_000));
  });

  it('rejects with a RateLimiterRes once the points are used up', async function () {
    const rl = limiter(2);
    await rl.consume('k');
    await rl.consume('k');
    const refused = await rejection(rl.consume('k'));
    assert.equal(refused.remainingPoints, 0);
    assert.ok(refused.msBeforeNext > 0);
  });

  it('starts a fresh window when the previous one has ended', async function () {
    const rl = limiter(1, 1);
    await rl.consume('k');
    await rejection(rl.consume('k'));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await rl.consume('k')).remainingPoints, 0);
  });

  it('tells the state of a key with get, and null for a key never used', async function () {
    const rl = limiter(5);
    assert.equal(await rl.get('unused'), null);
    await rl.consume('k', 2);
    const state = await rl.get('k');
    assert.equal(state?.consumedPoints, 2);
    assert.equal(state?.remainingPoints, 3);
  });

  it('forgets a key on delete', async function () {
    const rl = limiter(1);
    await rl.consume('k');
    assert.equal(await rl.delete('k'), true);
    assert.equal(await rl.get('k'), null);
    assert.equal((await rl.consume('k')).remainingPoints, 0);
    assert.equal(await rl.delete('never'), false);
  });

  it('refuses a blocked key for the block duration', async function () {
    const rl = limiter(100);
    await rl.block('k', 30);
    const refused = await rejection(rl.consume('k'));
    assert.ok(refused.msBeforeNext > 25_000);
    assert.equal((await rl.consume('other')).remainingPoints, 99);
  });

  it('moves the counter with penalty and reward', async function () {
    const rl = limiter(10);
    await rl.consume('k');
    await rl.penalty('k', 4);
    assert.equal((await rl.get('k'))?.consumedPoints, 5);
    await rl.reward('k', 3);
    assert.equal((await rl.get('k'))?.consumedPoints, 2);
    assert.equal((await rl.consume('k')).remainingPoints, 7);
  });

  it('admits exactly the limit under 50 simultaneous consumes', async function () {
    const rl = limiter(10);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => rl.consume('k')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 10);
    assert.ok(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof RateLimiterRes));
  });

  it('never admits more than the limit across two limiters on the same store (two instances)', async function () {
    const one = limiter(10);
    const two = limiter(10);
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).consume('shared')));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    assert.ok(admitted <= 10, `${admitted} admitted`);
    assert.ok(admitted >= 2, 'each instance admits some');
  });

  it("fails every consume waiting on a key's store round trip when that round trip fails, at once", async function () {
    // A store that takes 300 ms to fail each transaction, as one past its deadline does.
    let transactions = 0;
    const failing = withOverrides(store, {
      runTransaction: <R>(_work: (tx: Transaction) => Promise<R>): Promise<R> => {
        transactions += 1;
        return new Promise((_resolve, reject) => setTimeout(() => reject(new StoreUnavailableError('store down')), 300));
      },
    });
    const rl = new RateLimiterDocumentStore({ store: failing, keyPrefix: 'test', points: 100, duration: 60 });
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => rl.consume('one-user')));
    const elapsed = performance.now() - started;
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailableError));
    assert.equal(transactions, 1, 'the waiters share the one failed round trip instead of each trying again');
    assert.ok(elapsed < 3 * 300, `all answered with the first failure (${elapsed.toFixed(0)} ms), not one after another`);
  });

  it('keeps keys that hold colons, slashes and IPv6 addresses apart', async function () {
    const rl = limiter(1);
    for (const key of ['ip:2001:db8::1', 'ip:2001:db8::2', 'user:a/b', 'user:a%2Fb']) {
      assert.equal((await rl.consume(key)).remainingPoints, 0, key);
    }
  });

  it('keeps counters as documents in rateLimits whose expiresAt ends the window', async function () {
    const rl = limiter(100, 60);
    const before = Date.now();
    await rl.consume('ip:127.0.0.1');
    const { documents } = await store.query('rateLimits', { limit: 10 });
    assert.equal(documents.length, 1);
    const expiresAt = documents[0]!.data.expiresAt as number;
    assert.ok(expiresAt >= before + 59_000 && expiresAt <= Date.now() + 60_000);
  });
});
