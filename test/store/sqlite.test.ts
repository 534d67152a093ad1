/** What the embedded driver promises beyond the shared contract. */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
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

  it('reads each collection apart, a name SQL would need quoted included', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:' });
    const names = ['things', "it's", 'a b', 'Things', 'things_2'];
    for (const name of names) await store.set(name, 'lamp', { in: name });
    for (const name of names) assert.deepEqual(await store.get(name, 'lamp'), { in: name });
    assert.equal(await store.get("things' OR '1'='1", 'lamp'), null);
    await store.close();
  });

  it('fails with StoreUnavailableError, not a raw SQLite error, once it cannot work', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:' });
    await store.close();
    await assert.rejects(store.get('things', 'lamp'), StoreUnavailableError);
    await assert.rejects(store.set('things', 'lamp', { v: 1 }), StoreUnavailableError);
    await assert.rejects(store.query('things', { limit: 1 }), StoreUnavailableError);
    await assert.rejects(
      store.runTransaction(async (tx) => tx.get('things', 'lamp')),
      StoreUnavailableError,
    );
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
    await assert.rejects(store.query('items', { where: { ownerId: 'a' }, orderBy: { field: 'name', direction: 'asc' }, limit: 5 }), MissingIndexError);
    await assert.rejects(store.query('items', { where: { ownerId: 'a' }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 5 }), MissingIndexError);
    // single-field and equality-only queries need no composite index, as on Firestore
    await store.query('items', { orderBy: { field: 'name', direction: 'asc' }, limit: 5 });
    await store.query('items', { where: { ownerId: 'a', name: 'b' }, limit: 5 });
    await store.close();
  });

  it('serves items by owner, newest first, from the declared index, with no sort step, typed filters and paging included', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:', indexes: declaredIndexes() });
    for (let i = 0; i < 6; i += 1) await store.create('items', `i${i}`, { ownerId: `o${i % 2}`, createdAt: `t${i}` });
    const spec = { where: { ownerId: 'o1' }, orderBy: { field: 'createdAt', direction: 'desc' as const }, limit: 2 };
    const first = await store.query('items', spec);
    assert.deepEqual(
      first.documents.map((d) => d.id),
      ['i5', 'i3'],
    );
    for (const query of [spec, { ...spec, cursor: first.nextCursor! }]) {
      const plan = store.explainQuery('items', query).join('\n');
      assert.match(plan, /USING INDEX ix_\w+_ownerId_asc_createdAt_desc \(collection=\? AND <expr>=\?/, plan);
      assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
    }
    await store.close();
  });

  it("indexes each collection's own rows only: a write to another collection appends one WAL frame, not one per declared index", async function () {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-sqlite-')), 'data.sqlite');
    const store = new SqliteDocumentStore({ path, indexes: declaredIndexes() });
    for (let i = 0; i < 6; i += 1) await store.create('items', `i${i}`, { ownerId: `o${i % 2}`, createdAt: `t${i}` });
    await store.set('counters', 'ip:1', { points: 0 });
    const frames = () => (statSync(`${path}-wal`).size - 32) / (4096 + 24); // WAL header, then page-sized frames
    for (let n = 1; n <= 3; n += 1) {
      const before = frames();
      await store.set('counters', 'ip:1', { points: n });
      assert.equal(frames() - before, 1, 'only the table page changes');
    }
    await store.close();
  });

  it('replaces an index an older version made over every collection with the per-collection one, and queries use it', async function () {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-sqlite-')), 'data.sqlite');
    await new SqliteDocumentStore({ path, indexes: declaredIndexes() }).close();
    const name = 'ix_items_ownerId_asc_createdAt_desc';
    const raw = new DatabaseSync(path);
    raw.exec(`DROP INDEX "${name}"; CREATE INDEX "${name}" ON documents (collection, json_extract(data, '$.ownerId') ASC, json_extract(data, '$.createdAt') DESC, id DESC)`);
    raw.close();
    const store = new SqliteDocumentStore({ path, indexes: declaredIndexes() });
    await store.create('items', 'i1', { ownerId: 'o1', createdAt: 't1' });
    const definition = new DatabaseSync(path, { readOnly: true });
    const { sql } = definition.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string };
    definition.close();
    assert.match(sql, /WHERE collection = 'items'$/);
    const plan = store.explainQuery('items', { where: { ownerId: 'o1' }, orderBy: { field: 'createdAt', direction: 'desc' }, limit: 2 }).join('\n');
    assert.match(plan, new RegExp(`USING INDEX ${name}`), plan);
    await store.close();
  });

  it('takes a JSON real such as 1.0, written by another tool, as the number it is', async function () {
    const path = join(mkdtempSync(join(tmpdir(), 'bastion-sqlite-')), 'data.sqlite');
    const store = new SqliteDocumentStore({ path });
    await store.create('things', 'integer', { a: 1 });
    const raw = new DatabaseSync(path);
    try {
      raw.prepare('INSERT INTO documents (collection, id, data, version) VALUES (?, ?, ?, 1)').run('things', 'real', '{"a":1.0}');
      assert.equal((raw.prepare("SELECT json_type(data, '$.a') AS type FROM documents WHERE id = 'real'").get() as { type: string }).type, 'real');
    } finally {
      raw.close();
    }
    assert.deepEqual(
      (await store.query('things', { where: { a: 1 }, limit: 5 })).documents.map((d) => d.id),
      ['integer', 'real'],
    );
    assert.deepEqual((await store.query('things', { where: { a: true }, limit: 5 })).documents, []);
    await store.close();
  });

  it('refuses a dotted field name by the port rule before looking for an index', async function () {
    const store = new SqliteDocumentStore({ path: ':memory:', indexes: declaredIndexes() });
    await assert.rejects(
      store.query('items', { where: { 'owner.id': 'a' }, orderBy: { field: 'createdAt', direction: 'desc' }, limit: 5 }),
      (error: unknown) => error instanceof TypeError && !(error instanceof MissingIndexError) && error.message.includes('invalid field name'),
    );
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
