/**
 * The document-store contract: every driver must pass the very same suite.
 * The Firestore legs run when FIRESTORE_EMULATOR_HOST is set, and are reported as skipped
 * otherwise: once over REST, the transport production uses, and once over gRPC.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DocumentExistsError, DocumentNotFoundError, InvalidCursorError, StoreUnavailableError } from '../../functions/src/store/errors.ts';
import type { FirestoreStoreOptions } from '../../functions/src/store/firestore.ts';
import type { DocumentData, DocumentStore, FilterValue, QuerySpec } from '../../functions/src/store/port.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';
import { skipBecause } from '../support/skip.ts';

interface DriverUnderTest {
  name: string;
  enabled: boolean;
  open(): Promise<DocumentStore>;
}

/**
 * A generous deadline: this suite is about what the store answers, and the emulator settles
 * contention (ten writers on one document, below) by lock timeouts of 2 s, which a default
 * deadline does not always outlast. Deadlines have their own spec (firestore-faults.test.ts).
 */
const CONTRACT_DEADLINE_MS = 20_000;

function firestore(transport: FirestoreStoreOptions['transport']): DriverUnderTest {
  return {
    name: `firestore (${transport})`,
    enabled: Boolean(process.env.FIRESTORE_EMULATOR_HOST),
    open: async () => {
      const { openFirestoreStore } = await import('../../functions/src/store/firestore.ts');
      return openFirestoreStore({ projectId: process.env.GCLOUD_PROJECT ?? 'demo-bastion', transport, deadlineMs: CONTRACT_DEADLINE_MS });
    },
  };
}

export const drivers: DriverUnderTest[] = [
  { name: 'sqlite', enabled: true, open: async () => new SqliteDocumentStore({ path: ':memory:' }) },
  firestore('rest'),
  firestore('grpc'),
];

for (const driver of drivers) {
  describe(`document store contract on ${driver.name}`, function () {
    let store: DocumentStore;
    // Collections unique to each test keep the Firestore leg independent of earlier runs.
    let things: string;

    before(function () {
      if (!driver.enabled) skipBecause(this, 'FIRESTORE_EMULATOR_HOST is not set (see the README, "Tests")');
    });

    beforeEach(async function () {
      store = await driver.open();
      things = `things_${randomUUID().replaceAll('-', '')}`;
    });

    afterEach(async function () {
      await store?.close();
    });

    it('refuses every operation once closed, with StoreUnavailableError; closing again is fine', async function () {
      await store.create(things, 'a', { n: 1 });
      await store.close();
      await store.close();
      const operations: [string, () => Promise<unknown>][] = [
        ['get', () => store.get(things, 'a')],
        ['create', () => store.create(things, 'b', { n: 2 })],
        ['set', () => store.set(things, 'a', { n: 3 })],
        ['update', () => store.update(things, 'a', { n: 4 })],
        ['delete', () => store.delete(things, 'a')],
        ['query', () => store.query(things, { limit: 5 })],
        ['runTransaction', () => store.runTransaction(async (tx) => tx.get(things, 'a'))],
      ];
      for (const [name, operation] of operations) {
        await assert.rejects(operation(), StoreUnavailableError, name);
      }
    });

    describe('single documents', function () {
      it('reads a missing document as null', async function () {
        assert.equal(await store.get(things, 'nope'), null);
      });

      it('creates a document and reads it back as the same JSON', async function () {
        const data = { name: 'lamp', count: 3, tags: ['a', 'b'], nested: { on: true }, none: null };
        await store.create(things, 'lamp', data);
        assert.deepEqual(await store.get(things, 'lamp'), data);
      });

      it('refuses to create over an existing document, and keeps the original', async function () {
        await store.create(things, 'lamp', { name: 'first' });
        await assert.rejects(store.create(things, 'lamp', { name: 'second' }), DocumentExistsError);
        assert.deepEqual(await store.get(things, 'lamp'), { name: 'first' });
      });

      it('set creates or replaces the whole document', async function () {
        await store.set(things, 'lamp', { name: 'first', extra: 1 });
        await store.set(things, 'lamp', { name: 'second' });
        assert.deepEqual(await store.get(things, 'lamp'), { name: 'second' });
      });

      it('update merges top-level fields and keeps the others', async function () {
        await store.create(things, 'lamp', { name: 'first', colour: 'red' });
        await store.update(things, 'lamp', { colour: 'blue', size: 2 });
        assert.deepEqual(await store.get(things, 'lamp'), { name: 'first', colour: 'blue', size: 2 });
      });

      it('update of a missing document fails and creates nothing', async function () {
        await assert.rejects(store.update(things, 'ghost', { name: 'x' }), DocumentNotFoundError);
        assert.equal(await store.get(things, 'ghost'), null);
      });

      it('delete removes a document, and deleting a missing one is not an error', async function () {
        await store.create(things, 'lamp', { name: 'first' });
        await store.delete(things, 'lamp');
        assert.equal(await store.get(things, 'lamp'), null);
        await store.delete(things, 'lamp');
      });

      it('refuses ids that are not safe document names', async function () {
        await assert.rejects(store.get(things, 'a/b'), TypeError);
        await assert.rejects(store.create(things, '', { x: 1 }), TypeError);
        await assert.rejects(store.set(things, '__reserved__', { x: 1 }), TypeError);
      });
    });

    describe('expiry by expiresAt', function () {
      it('reads a document whose expiresAt has passed as missing', async function () {
        await store.set(things, 'old', { v: 1, expiresAt: Date.now() - 1 });
        await store.set(things, 'fresh', { v: 2, expiresAt: Date.now() + 60_000 });
        assert.equal(await store.get(things, 'old'), null);
        assert.equal((await store.get(things, 'fresh'))!.v, 2);
      });

      it('keeps expiresAt as epoch milliseconds', async function () {
        const expiresAt = Date.now() + 60_000;
        await store.set(things, 'fresh', { v: 1, expiresAt });
        assert.deepEqual(await store.get(things, 'fresh'), { v: 1, expiresAt });
      });

      it('lets a create reuse the id of an expired document', async function () {
        await store.set(things, 'slot', { owner: 'old', expiresAt: Date.now() - 1 });
        await store.create(things, 'slot', { owner: 'new' });
        assert.deepEqual(await store.get(things, 'slot'), { owner: 'new' });
      });

      it('leaves expired documents out of queries', async function () {
        await store.set(things, 'a', { kind: 'k', expiresAt: Date.now() - 1 });
        await store.set(things, 'b', { kind: 'k' });
        const page = await store.query(things, { where: { kind: 'k' }, limit: 10 });
        assert.deepEqual(
          page.documents.map((d) => d.id),
          ['b'],
        );
      });
    });

    describe('queries', function () {
      beforeEach(async function () {
        // Two owners; createdAt has a tie (t3) so the id tie-breaker is exercised.
        const rows: [string, string, string][] = [
          ['a1', 'alice', 't1'],
          ['a2', 'alice', 't2'],
          ['a3', 'alice', 't3'],
          ['a4', 'alice', 't3'],
          ['a5', 'alice', 't5'],
          ['b1', 'bob', 't4'],
        ];
        for (const [id, ownerId, createdAt] of rows) await store.create(things, id, { ownerId, createdAt });
      });

      it('filters by equality and orders newest first, ties broken by id', async function () {
        const page = await store.query(things, {
          where: { ownerId: 'alice' },
          orderBy: { field: 'createdAt', direction: 'desc' },
          limit: 10,
        });
        assert.deepEqual(
          page.documents.map((d) => d.id),
          ['a5', 'a4', 'a3', 'a2', 'a1'],
        );
        assert.equal(page.nextCursor, null);
      });

      it('pages with an opaque cursor without gaps or repeats', async function () {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.query(things, {
            where: { ownerId: 'alice' },
            orderBy: { field: 'createdAt', direction: 'desc' },
            limit: 2,
            cursor,
          });
          seen.push(...page.documents.map((d) => d.id));
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor);
        assert.deepEqual(seen, ['a5', 'a4', 'a3', 'a2', 'a1']);
        assert.equal(pages, 3);
      });

      it('orders ascending too', async function () {
        const page = await store.query(things, { orderBy: { field: 'createdAt', direction: 'asc' }, limit: 3 });
        assert.deepEqual(
          page.documents.map((d) => d.id),
          ['a1', 'a2', 'a3'],
        );
        assert.notEqual(page.nextCursor, null);
      });

      it('refuses, with InvalidCursorError, every cursor it did not issue', async function () {
        const spec = { where: { ownerId: 'alice' }, orderBy: { field: 'createdAt', direction: 'desc' as const }, limit: 2 };
        const issued = (await store.query(things, spec)).nextCursor!;
        // What a client who decoded one of ours sees (the format is opaque, not secret).
        const ours = JSON.parse(Buffer.from(issued, 'base64url').toString('utf8')) as Record<string, unknown>;
        assert.deepEqual(Object.keys(ours), ['q', 'v', 'id']);
        const spelled = (json: string) => Buffer.from(json, 'utf8').toString('base64url');
        const edited = (changes: Record<string, unknown>) => spelled(JSON.stringify({ ...ours, ...changes }));
        const without = (field: string) => spelled(JSON.stringify(Object.fromEntries(Object.entries(ours).filter(([key]) => key !== field))));
        const forged: [string, string][] = [
          ['the report: an object for a value, as a list', spelled('[{"a":1},"x"]')],
          ['a list [value, id]', spelled('["t3","a3"]')],
          ['not base64url', 'garbage!'],
          ['empty', ''],
          ['base64url, not JSON', spelled('not-a-cursor')],
          ['not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')],
          ['JSON null', spelled('null')],
          ['a JSON string', spelled('"a3"')],
          ['a JSON number', spelled('42')],
          ['a value that is an object', edited({ v: { a: 1 } })],
          ['a value that is a list', edited({ v: ['t3'] })],
          ['no value', without('v')],
          ['no id', without('id')],
          ['no query', without('q')],
          ['an id that is a number', edited({ id: 5 })],
          ['an id that is no document name', edited({ id: 'a/b' })],
          ['an id too long for a document name', edited({ id: 'a'.repeat(1501) })],
          ['another query', edited({ q: 'AAAAAAAAAAA' })],
          ['an extra field', edited({ admin: true })],
          ['the same JSON spaced out', spelled(JSON.stringify(ours, null, 1))],
          ['the same JSON, keys in another order', spelled(JSON.stringify({ id: ours.id, v: ours.v, q: ours.q }))],
          ['the same id spelled with escapes', spelled(JSON.stringify(ours).replace(`"id":"${ours.id as string}"`, '"id":"\\u0061\\u0034"'))],
          ['a number too big for a double', spelled(JSON.stringify(ours).replace(/"v":"[^"]*"/, '"v":1e400'))],
          ['huge: 100 000 characters', 'A'.repeat(100_000)],
          ['huge: a 5000-character value', edited({ v: 'x'.repeat(5000) })],
        ];
        assert.equal(ours.id, 'a4', 'the issued cursor names the last document of the page');
        for (const [what, cursor] of forged) {
          await assert.rejects(store.query(things, { ...spec, cursor }), InvalidCursorError, what);
        }
        // and the one it issued is taken back
        assert.deepEqual(
          (await store.query(things, { ...spec, cursor: issued })).documents.map((d) => d.id),
          ['a3', 'a2'],
        );
      });

      it('refuses a cursor issued for another query', async function () {
        const spec = { where: { ownerId: 'alice' }, orderBy: { field: 'createdAt', direction: 'desc' as const }, limit: 2 };
        const cursor = (await store.query(things, spec)).nextCursor!;
        const others: [string, Parameters<DocumentStore['query']>][] = [
          ['another owner', [things, { ...spec, where: { ownerId: 'bob' }, cursor }]],
          ['no filter', [things, { ...spec, where: {}, cursor }]],
          ['the other direction', [things, { ...spec, orderBy: { field: 'createdAt', direction: 'asc' }, cursor }]],
          ['no order', [things, { where: spec.where, limit: 2, cursor }]],
          ['another collection', [`${things}_other`, { ...spec, cursor }]],
        ];
        for (const [what, [collection, other]] of others) await assert.rejects(store.query(collection, other), InvalidCursorError, what);
        // the page size is not part of the query
        assert.deepEqual(
          (await store.query(things, { ...spec, limit: 1, cursor })).documents.map((d) => d.id),
          ['a3'],
        );
      });

      it('pages one by one through nulls, booleans and numbers, leaving out documents without the field', async function () {
        const paged = things + '_kinds';
        const documents: [string, DocumentData][] = [
          ['a', { rank: 'b' }],
          ['b', { rank: null }],
          ['c', {}],
          ['d', { rank: null }],
          ['e', { rank: 'a' }],
          ['f1', { flag: true }],
          ['f2', { flag: false }],
          ['f3', { flag: true }],
          ['n1', { n: 3 }],
          ['n2', { n: -1 }],
          ['n3', { n: 2.5 }],
          ['n4', { n: 0 }],
        ];
        for (const [id, data] of documents) await store.create(paged, id, data);
        // null sorts first; ties by id, in the same direction
        const expected: [string, 'asc' | 'desc', string[]][] = [
          ['rank', 'asc', ['b', 'd', 'e', 'a']],
          ['rank', 'desc', ['a', 'e', 'd', 'b']],
          ['flag', 'asc', ['f2', 'f1', 'f3']],
          ['flag', 'desc', ['f3', 'f1', 'f2']],
          ['n', 'asc', ['n2', 'n4', 'n3', 'n1']],
          ['n', 'desc', ['n1', 'n3', 'n4', 'n2']],
        ];
        for (const [field, direction, ids] of expected) {
          const seen: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await store.query(paged, { orderBy: { field, direction }, limit: 1, cursor });
            seen.push(...page.documents.map((d) => d.id));
            cursor = page.nextCursor ?? undefined;
          } while (cursor && seen.length <= ids.length);
          assert.deepEqual(seen, ids, `${field} ${direction}`);
        }
      });

      it('leaves out documents without the order field when filtering too; a null order value sorts first', async function () {
        await store.create(things, 'a6', { ownerId: 'alice' });
        await store.create(things, 'a7', { ownerId: 'alice', createdAt: null });
        const ordered = (direction: 'asc' | 'desc') => store.query(things, { where: { ownerId: 'alice' }, orderBy: { field: 'createdAt', direction }, limit: 10 });
        assert.deepEqual(
          (await ordered('desc')).documents.map((d) => d.id),
          ['a5', 'a4', 'a3', 'a2', 'a1', 'a7'],
        );
        assert.deepEqual(
          (await ordered('asc')).documents.map((d) => d.id),
          ['a7', 'a1', 'a2', 'a3', 'a4', 'a5'],
        );
        // without an order, the document is there
        const all = await store.query(things, { where: { ownerId: 'alice' }, limit: 10 });
        assert.deepEqual(
          all.documents.map((d) => d.id),
          ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'],
        );
      });

      describe('equality is by type and value, as on Firestore', function () {
        let typed: string;
        // One document per kind of value in field `a`, and some without it.
        const documents: [string, DocumentData][] = [
          ['null', { a: null }],
          ['missing', {}],
          ['other-null', { b: null }],
          ['one', { a: 1 }],
          ['true', { a: true }],
          ['string-1', { a: '1' }],
          ['zero', { a: 0 }],
          ['false', { a: false }],
          ['string-0', { a: '0' }],
          ['empty', { a: '' }],
          ['half', { a: 2.5 }],
          ['negative', { a: -1 }],
          ['huge', { a: 1e21 }],
          ['map', { a: { b: 1 } }],
          ['list', { a: [1] }],
          ['string-map', { a: '{"b":1}' }],
        ];
        const matching = async (value: FilterValue) => (await store.query(typed, { where: { a: value }, limit: 50 })).documents.map((d) => d.id);

        beforeEach(async function () {
          typed = `${things}_typed`;
          for (const [id, data] of documents) await store.create(typed, id, data);
        });

        it('null matches only a null, never a missing field', async function () {
          assert.deepEqual(await matching(null), ['null']);
        });

        it('1, true and "1" are three values; so are 0, false, "0" and ""', async function () {
          const expected: [FilterValue, string[]][] = [
            [1, ['one']],
            [true, ['true']],
            ['1', ['string-1']],
            [0, ['zero']],
            [false, ['false']],
            ['0', ['string-0']],
            ['', ['empty']],
          ];
          for (const [value, ids] of expected) assert.deepEqual(await matching(value), ids, JSON.stringify(value));
        });

        it('numbers compare by value: 1 is 1.0, and reals and huge numbers match themselves', async function () {
          const expected: [FilterValue, string[]][] = [
            [1.0, ['one']],
            [2.5, ['half']],
            [-1, ['negative']],
            [1e21, ['huge']],
            [2, []],
          ];
          for (const [value, ids] of expected) assert.deepEqual(await matching(value), ids, String(value));
        });

        it('a map or a list never equals a string of its JSON', async function () {
          assert.deepEqual(await matching('{"b":1}'), ['string-map']);
          assert.deepEqual(await matching('[1]'), []);
        });
      });

      it('refuses dotted, reserved and other unsafe field names, and non-scalar filter values, with TypeError before running', async function () {
        await store.create(things, 'nested', { a: { b: 1 } });
        await store.create(things, 'dotted', { 'a.b': 1 });
        const refused: [string, QuerySpec][] = [
          ['a dotted filter', { where: { 'a.b': 1 }, limit: 10 }],
          ['a dotted order', { orderBy: { field: 'a.b', direction: 'asc' }, limit: 10 }],
          ['a dotted filter, with a cursor it would refuse', { where: { 'a.b': 1 }, limit: 10, cursor: 'garbage!' }],
          ['a reserved name (Firestore reads __name__ as the id)', { where: { __name__: 'nested' }, limit: 10 }],
          ['a reserved order', { orderBy: { field: '__name__', direction: 'asc' }, limit: 10 }],
          ['an empty name', { where: { '': 1 }, limit: 10 }],
          ['a path-like name', { where: { 'a/b': 1 }, limit: 10 }],
          ['a bracketed name', { orderBy: { field: 'a[0]', direction: 'asc' }, limit: 10 }],
          ['a quoted name', { where: { "a')": 1 }, limit: 10 }],
          ['a map for a value', { where: { a: { b: 1 } as unknown as FilterValue }, limit: 10 }],
          ['a list for a value', { where: { a: [1] as unknown as FilterValue }, limit: 10 }],
          ['undefined for a value', { where: { a: undefined as unknown as FilterValue }, limit: 10 }],
          ['NaN for a value', { where: { a: Number.NaN }, limit: 10 }],
          ['an unknown direction', { orderBy: { field: 'a', direction: 'up' as 'asc' }, limit: 10 }],
        ];
        for (const [what, spec] of refused) await assert.rejects(store.query(things, spec), TypeError, what);
        // the nested field is still there to be read whole
        assert.deepEqual(await store.get(things, 'nested'), { a: { b: 1 } });
      });

      it('bounds the limit', async function () {
        await assert.rejects(store.query(things, { limit: 0 }), TypeError);
        await assert.rejects(store.query(things, { limit: 1001 }), TypeError);
      });
    });

    describe('transactions', function () {
      it('commits reads-then-writes together', async function () {
        await store.create(things, 'acct', { balance: 10 });
        const result = await store.runTransaction(async (tx) => {
          const acct = (await tx.get<{ balance: number }>(things, 'acct'))!;
          tx.update(things, 'acct', { balance: acct.balance - 3 });
          tx.create(things, 'receipt', { amount: 3 });
          return acct.balance - 3;
        });
        assert.equal(result, 7);
        assert.deepEqual(await store.get(things, 'acct'), { balance: 7 });
        assert.deepEqual(await store.get(things, 'receipt'), { amount: 3 });
      });

      it('writes nothing when the work throws, and hands its error back unchanged', async function () {
        class ChangedMyMind extends Error {}
        await store.create(things, 'acct', { balance: 10 });
        await assert.rejects(
          store.runTransaction(async (tx) => {
            await tx.get(things, 'acct');
            tx.update(things, 'acct', { balance: 0 });
            throw new ChangedMyMind('changed my mind');
          }),
          (error: unknown) => error instanceof ChangedMyMind && error.message === 'changed my mind',
        );
        assert.deepEqual(await store.get(things, 'acct'), { balance: 10 });
      });

      it('applies none of its writes when one of them fails', async function () {
        await store.create(things, 'taken', { v: 1 });
        await assert.rejects(
          store.runTransaction(async (tx) => {
            tx.set(things, 'first', { v: 1 });
            tx.create(things, 'taken', { v: 2 });
          }),
          DocumentExistsError,
        );
        assert.equal(await store.get(things, 'first'), null);
        assert.deepEqual(await store.get(things, 'taken'), { v: 1 });
      });

      it('fails an update of a missing document', async function () {
        await assert.rejects(
          store.runTransaction(async (tx) => {
            tx.update(things, 'ghost', { v: 1 });
          }),
          DocumentNotFoundError,
        );
      });

      it('refuses a read after a write', async function () {
        await assert.rejects(
          store.runTransaction(async (tx) => {
            tx.set(things, 'a', { v: 1 });
            await tx.get(things, 'a');
          }),
          TypeError,
        );
        assert.equal(await store.get(things, 'a'), null);
      });

      it('is serializable: concurrent read-modify-write increments lose nothing', async function () {
        await store.create(things, 'counter', { n: 0 });
        const increments = driver.name.startsWith('firestore') ? 10 : 50;
        await Promise.all(
          Array.from({ length: increments }, () =>
            store.runTransaction(async (tx) => {
              const counter = (await tx.get<{ n: number }>(things, 'counter'))!;
              tx.update(things, 'counter', { n: counter.n + 1 });
            }),
          ),
        );
        assert.deepEqual(await store.get(things, 'counter'), { n: increments });
      });
    });
  });
}
