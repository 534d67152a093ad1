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
    assert.deepEqual(
      results.map((r) => r.remainingPoints),
      [2, 1, 0],
    );
    assert.deepEqual(
      results.map((r) => r.consumedPoints),
      [1, 2, 3],
    );
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
    assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof RateLimiterRes));
  });

  it('never admits more than the limit across two limiters on the same store (two instances)', async function () {
    const one = limiter(10);
    const two = limiter(10);
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).consume('shared')));
    const admitted = results.filter((r) => r.status === 'fulfilled').length;
    assert.ok(admitted <= 10, `${admitted} admitted`);
    assert.ok(admitted >= 2, 'each instance admits some');
  });

  describe('across two instances on one store', function () {
    it('counts penalties exactly: 8 failures on 8 instances read as 8 on any of them', async function () {
      const instances = Array.from({ length: 8 }, () => limiter(100, 3600));
      for (const instance of instances) await instance.penalty('account', 1);
      for (const instance of instances) assert.equal((await instance.get('account'))?.consumedPoints, 8);
      assert.equal((await limiter(100, 3600).get('account'))?.consumedPoints, 8);
    });

    it('reports points used, not the points another instance has reserved', async function () {
      const one = limiter(100);
      const two = limiter(100);
      await one.consume('k');
      assert.equal((await two.get('k'))?.consumedPoints, 1, 'the lease one took is not counted as used by two');
      await one.consume('k');
      await one.consume('k');
      assert.equal((await one.get('k'))?.consumedPoints, 3, 'one knows what it drew from its own lease');
      await two.consume('k');
      assert.equal((await one.get('k'))?.consumedPoints, 4, "two's consume is counted; two's lease is not");
    });

    it('never lets a penalty or a reward upset the reservations: the limit still holds between the two', async function () {
      const one = limiter(40);
      const two = limiter(40);
      await one.consume('k');
      await two.penalty('k', 5);
      await two.reward('k', 2);
      assert.equal((await one.get('k'))?.consumedPoints, 4);
      const results = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => (i % 2 ? one : two).consume('k')));
      const admitted = results.filter((r) => r.status === 'fulfilled').length;
      assert.ok(admitted <= 36, `${admitted} admitted, 36 were left`);
    });

    it('blocks and deletes for every instance', async function () {
      const one = limiter(10);
      const two = limiter(10);
      await one.block('k', 30);
      await rejection(two.consume('k'));
      assert.equal(await one.delete('k'), true);
      assert.equal(await two.get('k'), null);
    });

    it('with leases off, consumes exactly in the store: get on another instance sees every one', async function () {
      const exact = (points: number) => new RateLimiterDocumentStore({ store, keyPrefix: 'exact', points, duration: 60, leases: false });
      const one = exact(10);
      const two = exact(10);
      await one.consume('k');
      await one.consume('k');
      assert.equal((await two.get('k'))?.consumedPoints, 2);
      const { documents } = await store.query('rateLimits', { limit: 10 });
      assert.equal(documents[0]!.data.points, 2, 'nothing reserved');
    });
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

  it('answers a point its lease holds at once (consumeFromLease), as consume would, and leaves the rest to consume', async function () {
    const leased = limiter(16);
    const exact = limiter(16);
    assert.equal(leased.consumeFromLease('k'), undefined, 'no lease yet: only consume can answer');
    const first = await leased.consume('k'); // takes the lease: 1 used, 1 of the 15 left reserved (an eighth)
    await exact.consume('other');
    const fromMemory = leased.consumeFromLease('k');
    assert.ok(fromMemory?.admitted);
    assert.deepEqual([fromMemory.res.consumedPoints, fromMemory.res.remainingPoints], [first.consumedPoints + 1, first.remainingPoints - 1]);
    assert.ok(fromMemory.res.msBeforeNext > 0 && fromMemory.res.msBeforeNext <= first.msBeforeNext);
    assert.equal(leased.consumeFromLease('k'), undefined, 'the lease is spent: back to consume (and the store)');
    // Used up, then refused from memory, as consume refuses.
    const small = limiter(1);
    await small.consume('small');
    assert.equal(small.consumeFromLease('small'), undefined, 'blocked in memory: consume refuses it');
    assert.equal((await rejection(small.consume('small'))).remainingPoints, 0);
    // Counters that must be exact take no leases.
    const exactOnly = new RateLimiterDocumentStore({ store, keyPrefix: 'exact', points: 16, duration: 60, leases: false });
    await exactOnly.consume('k');
    assert.equal(exactOnly.consumeFromLease('k'), undefined);
    assert.equal((await exactOnly.get('k'))?.consumedPoints, 1);
  });

  it('keeps keys that hold colons, slashes and IPv6 addresses apart', async function () {
    const rl = limiter(1);
    for (const key of ['ip:2001:db8::1', 'ip:2001:db8::2', 'user:a/b', 'user:a%2Fb']) {
      assert.equal((await rl.consume(key)).remainingPoints, 0, key);
    }
  });

  it('keeps counters as documents in rateLimits, under a hash of their key, whose expiresAt ends the window', async function () {
    const rl = limiter(100, 60);
    const before = Date.now();
    await rl.consume('ip:127.0.0.1');
    const { documents } = await store.query('rateLimits', { limit: 10 });
    assert.equal(documents.length, 1);
    assert.ok(!documents[0]!.id.includes('127.0.0.1'), `the id shows no part of its key: ${documents[0]!.id}`);
    const expiresAt = documents[0]!.data.expiresAt as number;
    assert.ok(expiresAt >= before + 59_000 && expiresAt <= Date.now() + 60_000);
  });
});
