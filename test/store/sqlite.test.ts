/** What the embedded driver promises beyond the shared contract. */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MissingIndexError, StoreUnavailableError } from '../../functions/src/store/errors.ts';
import { declaredIndexes } from '../../functions/src/store/index.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { waitFor } from '../../scripts/wait.ts';

describe('SQLite document store', function () {
  it('keeps documents in a file across reopening', async function () {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-sqlite-')), 'data.sqlite');
    const first = new SqliteDocumentStore({ path });
    await first.create('things', 'lamp', { name: 'lamp' });
    await first.close();
    const second = new SqliteDocumentStore({ path });
    assert.deepEqual(await second.get('things', 'lamp'), { name: 'lamp' });
    await second.close();
  });

  it('fails with StoreUnavailableError, not a raw SQLite error, once it cannot work', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:' });
    await store.close();
    await assert.rejects(store.get('things', 'lamp'), StoreUnavailableError);
    await assert.rejects(store.set('things', 'lamp', { v: 1 }), StoreUnavailableError);
    await assert.rejects(store.query('things', { limit: 1 }), StoreUnavailableError);
    await assert.rejects(store.runTransaction(async (tx) => tx.get('things', 'lamp')), StoreUnavailableError);
  });

  it('runs a transaction again when a plain write changed what it read, losing no update', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:' });
    await store.create('counters', 'c', { n: 0 });
    let attempts = 0;
    await store.runTransaction(async (tx) => {
      attempts += 1;
      const counter = (await tx.get<{ n: number }>('counters', 'c'))!;
      if (attempts === 1) await store.update('counters', 'c', { n: counter.n + 100 }); // a concurrent writer
      tx.update('counters', 'c', { n: counter.n + 1 });
    });
    assert.equal(attempts, 2);
    assert.deepEqual(await store.get('counters', 'c'), { n: 101 });
    await store.close();
  });

  it('gives up with TransactionAbortedError after repeated conflicts, writing nothing', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:', maxTransactionAttempts: 3 });
    await store.create('counters', 'c', { n: 0 });
    await assert.rejects(
      store.runTransaction(async (tx) => {
        const counter = (await tx.get<{ n: number }>('counters', 'c'))!;
        await store.set('counters', 'c', { n: counter.n + 10 }); // always conflicts
        tx.set('counters', 'other', { touched: true });
      }),
      { code: 'ABORTED' },
    );
    assert.equal(await store.get('counters', 'other'), null);
    await store.close();
  });

  it('refuses a query that needs a composite index firestore.indexes.json does not declare', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:', indexes: declaredIndexes() });
    // declared: items(ownerId asc, createdAt desc)
    await store.query('items', { where: { ownerId: 'a' }, orderBy: { field: 'createdAt', direction: 'desc' }, limit: 5 });
    await assert.rejects(
      store.query('items', { where: { ownerId: 'a' }, orderBy: { field: 'name', direction: 'asc' }, limit: 5 }),
      MissingIndexError,
    );
    await assert.rejects(
      store.query('items', { where: { ownerId: 'a' }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 5 }),
      MissingIndexError,
    );
    // single-field and equality-only queries need no composite index, as on Firestore
    await store.query('items', { orderBy: { field: 'name', direction: 'asc' }, limit: 5 });
    await store.query('items', { where: { ownerId: 'a', name: 'b' }, limit: 5 });
    await store.close();
  });

  it('purges expired documents from the file in the background', async function () {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-sqlite-')), 'data.sqlite');
    const store = new SqliteDocumentStore({ path, sweepIntervalMs: 20 });
    await store.set('sessions', 'old', { expiresAt: Date.now() + 10 });
    await store.set('sessions', 'live', { expiresAt: Date.now() + 60_000 });
    // another connection on the file, as a backup would be, sees the row go
    const raw = new DatabaseSync(path, { readOnly: true });
    const ids = () => (raw.prepare('SELECT id FROM documents ORDER BY id').all() as { id: string }[]).map((row) => row.id);
    try {
      await waitFor(() => !ids().includes('old'), { timeoutMs: 5000, what: 'the sweep to purge the expired row' });
      assert.deepEqual(ids(), ['live']);
    } finally {
      raw.close();
      await store.close();
    }
  });
});
