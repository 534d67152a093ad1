/**
 * Items CRUD over real HTTP: what a client may do with its own items, what the server sets
 * itself, and what it refuses to reveal.
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';

const ID = /^[A-Za-z0-9]{20}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Newest first; items created in the same millisecond are ordered by id, descending. */
function newestFirst(items: { id: string; createdAt: string }[]): string[] {
  const key = (item: { id: string; createdAt: string }) => `${item.createdAt}|${item.id}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? 1 : -1)).map((item) => item.id);
}

describe('items', function () {
  let api: TestApi;
  let alice: string;
  let bob: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
    bob = await api.token({ sub: 'bob', roles: ['user'] });
  });

  afterEach(async function () {
    await api.close();
  });

  async function create(token: string, name = 'Desk lamp', description = 'Warm light for late work') {
    const response = await api.request('POST', '/items', { token, body: { name, description } });
    assert.equal(response.status, 201, response.text);
    return response.json as { id: string; ownerId: string; name: string; description: string; createdAt: string; updatedAt: string };
  }

  describe('POST /items', function () {
    it('creates an item owned by the caller, with server-set id and times, and a Location', async function () {
      const response = await api.request('POST', '/items', { token: alice, body: { name: 'Desk lamp', description: 'Warm light' } });
      assert.equal(response.status, 201);
      const item = response.json;
      assert.match(item.id, ID);
      assert.equal(item.ownerId, 'alice');
      assert.equal(item.name, 'Desk lamp');
      assert.match(item.createdAt, ISO);
      assert.equal(item.updatedAt, item.createdAt);
      assert.equal(response.headers.location, `/items/${item.id}`);
      assert.deepEqual(await api.store.get('items', item.id), {
        ownerId: 'alice',
        name: 'Desk lamp',
        description: 'Warm light',
        createdAt: item.createdAt,
        updatedAt: item.createdAt,
      });
    });

    it('trims name and description', async function () {
      const item = await create(alice, '   Desk lamp  ', '\n Warm light \t');
      assert.equal(item.name, 'Desk lamp');
      assert.equal(item.description, 'Warm light');
    });

    it('refuses ownerId, createdAt and other server fields in the body, and stores nothing', async function () {
      for (const extra of [{ ownerId: 'bob' }, { createdAt: '2000-01-01T00:00:00.000Z' }, { id: 'AAAAAAAAAAAAAAAAAAAA' }]) {
        const response = await api.request('POST', '/items', { token: alice, body: { name: 'Desk lamp', description: 'Warm light', ...extra } });
        assert.equal(response.status, 400, JSON.stringify(extra));
        assert.equal(response.json.error.code, 'validation_failed');
      }
      const proto = await api.request('POST', '/items', {
        token: alice,
        raw: '{"name":"Desk lamp","description":"Warm light","__proto__":{"ownerId":"bob","roles":["admin"]}}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(proto.status, 400);
      const stored = await api.store.query('items', { limit: 10 });
      assert.equal(stored.documents.length, 0);
    });

    it('enforces the length bounds of name (3-100) and description (5-500)', async function () {
      const cases: [unknown, unknown, number][] = [
        ['ab', 'Warm light', 400],
        ['abc', 'Warm light', 201],
        ['x'.repeat(100), 'Warm light', 201],
        ['x'.repeat(101), 'Warm light', 400],
        ['Lamp', 'four', 400],
        ['Lamp', 'y'.repeat(500), 201],
        ['Lamp', 'y'.repeat(501), 400],
        ['Lamp', 'Warm\u0000light', 400],
      ];
      for (const [name, description, status] of cases) {
        const response = await api.request('POST', '/items', { token: alice, body: { name, description } });
        assert.equal(response.status, status, `${String(name).length}/${String(description).length}: ${response.text}`);
      }
    });
  });

  describe('GET /items', function () {
    it('lists only the caller\'s items, newest first', async function () {
      const first = await create(alice, 'First', 'the first one');
      await create(bob, 'Bobs', 'belongs to bob');
      const second = await create(alice, 'Second', 'the second one');
      const response = await api.request('GET', '/items', { token: alice });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json.items.map((i: { id: string }) => i.id), newestFirst([first, second]));
      assert.equal(response.json.nextCursor, null);
    });

    it('pages with limit and an opaque cursor, without gaps or repeats', async function () {
      const created: { id: string; createdAt: string }[] = [];
      for (let i = 0; i < 7; i += 1) created.push(await create(alice, `Item ${i}`, 'numbered item'));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
        const response = await api.request('GET', `/items${query}`, { token: alice });
        assert.equal(response.status, 200, response.text);
        assert.ok(response.json.items.length <= 3);
        seen.push(...response.json.items.map((i: { id: string }) => i.id));
        cursor = response.json.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, newestFirst(created));
    });

    it('refuses a forged cursor with 400 invalid_cursor', async function () {
      const response = await api.request('GET', '/items?cursor=bm90LWEtY3Vyc29y', { token: alice });
      assert.equal(response.status, 400);
      assert.equal(response.json.error.code, 'invalid_cursor');
    });

    it('lets an admin list everyone\'s items with scope=all', async function () {
      await create(alice);
      await create(bob);
      const admin = await api.token({ sub: 'root', roles: ['admin'] });
      const response = await api.request('GET', '/items?scope=all', { token: admin });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json.items.map((i: { ownerId: string }) => i.ownerId).sort(), ['alice', 'bob']);
    });
  });

  describe('GET /items/:id', function () {
    it('reads an own item', async function () {
      const item = await create(alice);
      const response = await api.request('GET', `/items/${item.id}`, { token: alice });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json, item);
    });

    it('answers another user\'s item exactly like a missing one (no enumeration)', async function () {
      const item = await create(alice);
      const theirs = await api.request('GET', `/items/${item.id}`, { token: bob });
      const missing = await api.request('GET', '/items/AAAAAAAAAAAAAAAAAAAA', { token: bob });
      assert.equal(theirs.status, 404);
      assert.equal(missing.status, 404);
      assert.deepEqual({ ...theirs.json.error, requestId: 0 }, { ...missing.json.error, requestId: 0 });
    });
  });

  describe('PATCH /items/:id', function () {
    it('changes only the given fields and bumps updatedAt', async function () {
      const item = await create(alice);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const response = await api.request('PATCH', `/items/${item.id}`, { token: alice, body: { description: 'Now brighter' } });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.json.name, item.name);
      assert.equal(response.json.description, 'Now brighter');
      assert.equal(response.json.createdAt, item.createdAt);
      assert.ok(response.json.updatedAt > item.updatedAt);
      assert.deepEqual(await api.store.get('items', item.id), {
        ownerId: 'alice',
        name: item.name,
        description: 'Now brighter',
        createdAt: item.createdAt,
        updatedAt: response.json.updatedAt,
      });
    });

    it('answers 400 when there is nothing to change', async function () {
      const item = await create(alice);
      const response = await api.request('PATCH', `/items/${item.id}`, { token: alice, body: {} });
      assert.equal(response.status, 400);
      assert.equal(response.json.error.code, 'validation_failed');
    });

    it('never lets the body move an item to another owner', async function () {
      const item = await create(alice);
      const response = await api.request('PATCH', `/items/${item.id}`, { token: alice, body: { name: 'Mine', ownerId: 'bob' } });
      assert.equal(response.status, 400);
      assert.equal(((await api.store.get('items', item.id)) as { ownerId: string }).ownerId, 'alice');
    });

    it('answers 404 for another user\'s item and changes nothing', async function () {
      const item = await create(alice);
      const response = await api.request('PATCH', `/items/${item.id}`, { token: bob, body: { name: 'Stolen' } });
      assert.equal(response.status, 404);
      assert.equal(((await api.store.get('items', item.id)) as { name: string }).name, item.name);
    });
  });

  describe('DELETE /items/:id', function () {
    it('deletes an own item: 204, then 404', async function () {
      const item = await create(alice);
      const response = await api.request('DELETE', `/items/${item.id}`, { token: alice });
      assert.equal(response.status, 204);
      assert.equal(response.text, '');
      assert.equal(await api.store.get('items', item.id), null);
      assert.equal((await api.request('DELETE', `/items/${item.id}`, { token: alice })).status, 404);
    });

    it('answers 404 for another user\'s item and keeps it', async function () {
      const item = await create(alice);
      assert.equal((await api.request('DELETE', `/items/${item.id}`, { token: bob })).status, 404);
      assert.notEqual(await api.store.get('items', item.id), null);
    });
  });

  describe('routing', function () {
    it('answers 405 with Allow for a method the path does not take', async function () {
      const response = await api.request('PUT', '/items', { token: alice, body: {} });
      assert.equal(response.status, 405);
      assert.equal(response.headers.allow, 'GET, POST');
      assert.equal(response.json.error.code, 'method_not_allowed');
    });

    it('answers 404 for unknown paths under and outside the functions', async function () {
      for (const path of ['/items/a/b', '/nothing', '/nothing.js', '/uploads/a/b/c']) {
        const response = await api.request('GET', path, { token: alice });
        assert.equal(response.status, 404, path);
        assert.equal(response.json.error.code, 'not_found');
      }
    });
  });
});
