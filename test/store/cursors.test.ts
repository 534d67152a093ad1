/**
 * Pagination cursors over real HTTP: the listings take back the cursors they issued, and any
 * other answers 400 invalid_cursor — never a 500, never a driver's error in the log.
 * (What the port itself accepts is in the contract suite, for every driver.)
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';

const spelled = (json: string) => Buffer.from(json, 'utf8').toString('base64url');

describe('pagination cursors over HTTP', function () {
  let api: TestApi;
  let alice: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
    for (const name of ['Desk lamp', 'Desk chair', 'Bookshelf']) {
      const created = await api.request('POST', '/items', { token: alice, body: { name, description: 'for the study' } });
      assert.equal(created.status, 201, created.text);
    }
  });

  afterEach(async function () {
    await api.close();
  });

  /** Cursors a client could make up, written by hand (and from one of ours, edited). */
  async function forgeries(): Promise<[string, string][]> {
    const first = await api.request('GET', '/items?limit=1', { token: alice });
    assert.equal(first.status, 200, first.text);
    const ours = JSON.parse(Buffer.from(first.json.nextCursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const edited = (changes: Record<string, unknown>) => spelled(JSON.stringify({ ...ours, ...changes }));
    return [
      ['the report: [{"a":1},"x"]', spelled('[{"a":1},"x"]')],
      ['[value, id] with the wrong types', spelled('[1,2]')],
      ['[value, id] of the wrong length', spelled('["2026-01-01T00:00:00.000Z","x","y"]')],
      ['a value of the wrong type', edited({ v: { $gt: '' } })],
      ['an id of the wrong type', edited({ id: ['x'] })],
      ['an extra field', edited({ ownerId: 'bob' })],
      ['a missing field', spelled(JSON.stringify({ q: ours.q, id: ours.id }))],
      ['another query', edited({ q: 'AAAAAAAAAAA' })],
      ['not JSON', spelled('SELECT * FROM documents')],
      ['not base64url', 'bm90LWEtY3Vyc29y!'],
      ['not UTF-8', Buffer.from([0xc3, 0x28]).toString('base64url')],
      ['huge, to the length the route allows', 'A'.repeat(512)],
      ['deeply nested', spelled(`${'['.repeat(190)}${']'.repeat(190)}`)],
    ];
  }

  for (const listing of ['/items', '/uploads']) {
    it(`GET ${listing} answers 400 invalid_cursor to every forged cursor, and logs no error`, async function () {
      for (const [what, cursor] of await forgeries()) {
        const response = await api.request('GET', `${listing}?cursor=${encodeURIComponent(cursor)}`, { token: alice });
        assert.equal(response.status, 400, `${what}: ${response.text}`);
        assert.equal(response.json.error.code, 'invalid_cursor', what);
      }
      assert.deepEqual(
        api.logs.filter((line) => line.level === 'error'),
        [],
      );
    });
  }

  it('GET /items takes back the cursor it issued, and no other listing does', async function () {
    // Items made in the same millisecond are ordered by id: the whole listing says which comes last.
    const whole = await api.request('GET', '/items?limit=3', { token: alice });
    const first = await api.request('GET', '/items?limit=2', { token: alice });
    const next = await api.request('GET', `/items?limit=2&cursor=${first.json.nextCursor}`, { token: alice });
    assert.equal(next.status, 200, next.text);
    const names = (answer: typeof whole) => answer.json.items.map((item: { name: string }) => item.name) as string[];
    assert.deepEqual(names(next), names(whole).slice(2));
    assert.equal(names(next).length, 1);
    // the same position on another listing (everyone's items; uploads) is not one it issued
    const admin = await api.token({ sub: 'root', roles: ['admin'] });
    const everyone = await api.request('GET', `/items?scope=all&cursor=${first.json.nextCursor}`, { token: admin });
    assert.equal(everyone.json.error?.code, 'invalid_cursor');
    const uploads = await api.request('GET', `/uploads?cursor=${first.json.nextCursor}`, { token: alice });
    assert.equal(uploads.json.error?.code, 'invalid_cursor');
  });

  it('refuses a cursor longer than the route allows as a validation failure, not a 500', async function () {
    const response = await api.request('GET', `/items?cursor=${'A'.repeat(5000)}`, { token: alice });
    assert.equal(response.status, 400);
    assert.equal(response.json.error.code, 'validation_failed');
  });
});
