/**
 * The one error mapper: clients get a stable code and a message written for them, never a
 * stack, an exception message or a path; store failures are 503 with Retry-After; anything
 * unexpected is a bare 500, logged on the server with its stack and the request id.
 */
import assert from 'node:assert/strict';
import { MissingIndexError, StoreUnavailableError, TransactionAbortedError } from '../../functions/src/store/errors.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

const ITEM_ID = 'AAAAAAAAAAAAAAAAAAAA';
const SECRET_DETAIL = 'connection to db-internal.example:5432 failed for user admin';

/** A real store whose reads of items throw `error`; rate limiting (its own collection) works. */
function storeFailingWith(error: () => Error): DocumentStore {
  const inner = memoryStore();
  return withOverrides(inner, {
    get: async (collection, id) => {
      if (collection === 'items') throw error();
      return inner.get(collection, id);
    },
    query: async (collection, spec) => {
      if (collection === 'items') throw error();
      return inner.query(collection, spec);
    },
  });
}

/** Nothing of the server's insides in what the client sees. */
function assertNoInternals(response: Response): void {
  assert.doesNotMatch(response.text, /\bat \S+ \(|\.ts:\d+|\/work\/|node_modules|stack/i);
  assert.ok(!response.text.includes(SECRET_DETAIL));
}

describe('error mapper', function () {
  let api: TestApi | undefined;

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  async function getItem(store: DocumentStore): Promise<Response> {
    api = await startApi({}, { store });
    return api.request('GET', `/items/${ITEM_ID}`, { token: await api.token(), headers: { 'x-request-id': 'test-request-0001' } });
  }

  it('answers an unexpected exception with a bare 500 internal_error, no internals', async function () {
    const response = await getItem(storeFailingWith(() => new Error(SECRET_DETAIL)));
    assert.equal(response.status, 500);
    assert.deepEqual(Object.keys(response.json), ['error']);
    assert.deepEqual(Object.keys(response.json.error).sort(), ['code', 'message', 'requestId']);
    assert.equal(response.json.error.code, 'internal_error');
    assert.equal(response.json.error.requestId, 'test-request-0001');
    assertNoInternals(response);
  });

  it('logs the 500 on the server with the request id, the message and the stack', async function () {
    await getItem(storeFailingWith(() => new Error(SECRET_DETAIL)));
    const line = api!.logs.find((entry) => entry.message === 'request failed');
    assert.ok(line, 'an error line was logged');
    assert.equal(line.level, 'error');
    assert.equal(line.severity, 'ERROR');
    assert.equal(line.requestId, 'test-request-0001');
    assert.equal(line.status, 500);
    assert.equal(line.err.message, SECRET_DETAIL);
    assert.match(line.err.stack, /at /);
    const access = api!.logs.find((entry) => entry.message === 'request');
    assert.equal(access?.requestId, 'test-request-0001');
    assert.equal(access?.status, 500);
  });

  it('answers a store outage with 503 store_unavailable and Retry-After', async function () {
    const response = await getItem(storeFailingWith(() => new StoreUnavailableError(SECRET_DETAIL)));
    assert.equal(response.status, 503);
    assert.equal(response.json.error.code, 'store_unavailable');
    assert.equal(response.headers['retry-after'], '1');
    assertNoInternals(response);
    assert.ok(api!.logs.some((entry) => entry.message === 'request failed' && entry.requestId === 'test-request-0001'));
  });

  it('answers a transaction given up under contention with 503 store_contention', async function () {
    const response = await getItem(storeFailingWith(() => new TransactionAbortedError(SECRET_DETAIL)));
    assert.equal(response.status, 503);
    assert.equal(response.json.error.code, 'store_contention');
    assert.equal(response.headers['retry-after'], '1');
    assertNoInternals(response);
  });

  it('treats a missing index (a deployment bug) as internal: 500, logged', async function () {
    const response = await getItem(storeFailingWith(() => new MissingIndexError(SECRET_DETAIL)));
    assert.equal(response.status, 500);
    assert.equal(response.json.error.code, 'internal_error');
    assertNoInternals(response);
    assert.ok(api!.logs.some((entry) => entry.message === 'request failed' && entry.err?.message === SECRET_DETAIL));
  });

  it('answers 503, not 500, when the store has gone away entirely', async function () {
    api = await startApi();
    const token = await api.token();
    await api.store.close();
    const create = await api.request('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(create.status, 503);
    assert.equal(create.json.error.code, 'store_unavailable');
    assertNoInternals(create);
  });

  it('passes the details and headers of client errors through (405 Allow, 400 details)', async function () {
    api = await startApi();
    const token = await api.token();
    const wrongMethod = await api.request('PUT', '/items', { token });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.json.error.code, 'method_not_allowed');
    assert.equal(wrongMethod.headers.allow, 'GET, POST');
    const invalid = await api.request('POST', '/items', { token, body: { name: 'x' } });
    assert.equal(invalid.status, 400);
    assert.ok(Array.isArray(invalid.json.error.details));
    // Client errors are not server failures: no error-level log line for them.
    assert.ok(!api.logs.some((entry) => entry.level === 'error'));
  });
});
