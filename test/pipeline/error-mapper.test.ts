/**
 * The one error mapper: every failure becomes `{ error: { code, message, requestId, details? } }`.
 * Client errors (ApiError) keep their code, message, details and headers (the status from the catalog); store outages and
 * contention are 503 with Retry-After; anything unexpected (a missing index included) is a bare
 * 500 with a generic message, while the server log gets the whole error, stack and request id.
 * No response ever carries a stack frame, an exception message or a file path.
 */
import assert from 'node:assert/strict';
import { MissingIndexError, StoreUnavailableError, TransactionAbortedError } from '../../functions/src/store/errors.ts';
import type { DocumentData, DocumentStore, Transaction } from '../../functions/src/store/port.ts';
import { startApi, type RequestOptions, type Response, type TestApi } from '../support/api.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

const ITEM_ID = 'AAAAAAAAAAAAAAAAAAAA';
/** What an internal error might say: a host, a user, a path. None of it is for the client. */
const SECRET_DETAIL = "connect to db-internal.example:5432 as admin failed reading '/work/main/functions/service-account.json'";
const ITEM = { ownerId: 'alice', name: 'Desk lamp', description: 'Warm light', createdAt: '2024-01-01T00:00:00.000Z', updatedAt: '2024-01-01T00:00:00.000Z' };

/**
 * A real in-memory store whose every touch of the items collection (direct reads and queries,
 * and reads inside transactions) throws `fail()`. The rate limiter keeps working: it uses its
 * own `rateLimits` collection through runTransaction.
 */
function storeFailingWith(fail: () => unknown): DocumentStore & { inner: DocumentStore } {
  const inner = memoryStore();
  const guard = (collection: string) => {
    if (collection === 'items') throw fail();
  };
  const failing = (tx: Transaction): Transaction => ({
    get: async <T extends DocumentData>(c: string, id: string) => (guard(c), tx.get<T>(c, id)),
    create: (c, id, data) => tx.create(c, id, data),
    set: (c, id, data) => tx.set(c, id, data),
    update: (c, id, patch) => tx.update(c, id, patch),
    delete: (c, id) => tx.delete(c, id),
  });
  return withOverrides(inner, {
    inner,
    get: async <T extends DocumentData>(c: string, id: string) => (guard(c), inner.get<T>(c, id)),
    query: async <T extends DocumentData>(c: string, spec: Parameters<DocumentStore['query']>[1]) => (guard(c), inner.query<T>(c, spec)),
    runTransaction: (work) => inner.runTransaction((tx) => work(failing(tx))),
  } as Partial<DocumentStore>) as DocumentStore & { inner: DocumentStore };
}

/** Nothing of the server's insides in what the client sees: no stack frames, paths or internal messages. */
function assertNoInternals(response: Response): void {
  const everything = `${JSON.stringify(response.headers)}\n${response.text}`;
  assert.doesNotMatch(everything, /\bat (async )?\S+ \(|\bat \S+:\d+:\d+/, 'no stack frames');
  assert.doesNotMatch(everything, /\/work\/|node_modules|node:internal|file:\/\/|\.ts:\d+/, 'no file paths');
  assert.doesNotMatch(everything, /stack/i);
  assert.ok(!everything.includes('db-internal'), 'no internal message');
}

describe('error mapper', function () {
  let api: TestApi | undefined;

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  /** Every response these specifications see is checked for leaked internals. */
  async function call(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const response = await api!.request(method, path, options);
    assertNoInternals(response);
    return response;
  }

  async function start(store?: DocumentStore): Promise<string> {
    api = await startApi({}, store ? { store } : {});
    return api.token({ sub: 'alice', roles: ['user'] });
  }

  function failureLogs(): Record<string, any>[] {
    return api!.logs.filter((entry) => entry.message === 'request failed');
  }

  describe('unexpected exceptions', function () {
    it('become a bare 500 internal_error: code, generic message and request id, nothing else', async function () {
      const token = await start(storeFailingWith(() => new Error(SECRET_DETAIL)));
      const response = await call('GET', `/items/${ITEM_ID}`, { token });
      assert.equal(response.status, 500);
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
      assert.deepEqual(Object.keys(response.json), ['error']);
      assert.deepEqual(Object.keys(response.json.error).sort(), ['code', 'message', 'requestId']);
      assert.equal(response.json.error.code, 'internal_error');
      assert.equal(typeof response.json.error.message, 'string');
      assert.ok(response.json.error.message.length > 0);
      assert.equal(response.json.error.requestId, response.headers['x-request-id']);
    });

    it('are logged at error level with the same request id, the exception message and its stack', async function () {
      const token = await start(storeFailingWith(() => new Error(SECRET_DETAIL)));
      const response = await call('GET', `/items/${ITEM_ID}`, { token });
      const requestId = response.json.error.requestId;
      assert.equal(typeof requestId, 'string');
      const lines = failureLogs();
      assert.equal(lines.length, 1, api!.logText());
      const [line] = lines;
      assert.equal(line!.level, 'error');
      assert.equal(line!.severity, 'ERROR');
      assert.equal(line!.requestId, requestId);
      assert.equal(line!.status, 500);
      assert.equal(line!.err.name, 'Error');
      assert.equal(line!.err.message, SECRET_DETAIL);
      // The real stack, down to where it was thrown (this file), for whoever reads the log.
      assert.match(line!.err.stack, /\n\s+at /);
      assert.match(line!.err.stack, /error-mapper\.test\.ts/);
      const access = api!.logs.find((entry) => entry.message === 'request');
      assert.equal(access?.requestId, requestId);
      assert.equal(access?.status, 500);
    });

    it('get one and the same generic message whatever was thrown', async function () {
      const causes: (() => unknown)[] = [
        () => new Error(SECRET_DETAIL),
        () => new TypeError(`Cannot read properties of undefined (reading 'db-internal')`),
        () => new RangeError(SECRET_DETAIL),
        () => `db-internal: a bare string thrown`,
        () => ({ code: 'db-internal', detail: SECRET_DETAIL }),
      ];
      const messages = new Set<string>();
      for (const cause of causes) {
        const token = await start(storeFailingWith(cause));
        const response = await call('GET', `/items/${ITEM_ID}`, { token });
        assert.equal(response.status, 500, response.text);
        assert.equal(response.json.error.code, 'internal_error');
        messages.add(response.json.error.message);
        assert.equal(failureLogs().length, 1, 'each is logged');
        await api!.close();
        api = undefined;
      }
      assert.equal(messages.size, 1, [...messages].join(' | '));
    });

    it("treat a missing index (a deployment bug, not the client's) as internal: 500, logged", async function () {
      const token = await start(storeFailingWith(() => new MissingIndexError(SECRET_DETAIL)));
      const response = await call('GET', '/items', { token });
      assert.equal(response.status, 500);
      assert.equal(response.json.error.code, 'internal_error');
      const [line] = failureLogs();
      assert.equal(line?.requestId, response.json.error.requestId);
      assert.equal(line?.err.message, SECRET_DETAIL);
      assert.equal(line?.status, 500);
    });
  });

  describe('store failures', function () {
    it('answer an unavailable store with 503 store_unavailable and Retry-After, logged', async function () {
      const token = await start(storeFailingWith(() => new StoreUnavailableError(SECRET_DETAIL)));
      const response = await call('GET', `/items/${ITEM_ID}`, { token });
      assert.equal(response.status, 503);
      assert.equal(response.json.error.code, 'store_unavailable');
      assert.equal(response.headers['retry-after'], '1');
      assert.equal(response.json.error.requestId, response.headers['x-request-id']);
      const [line] = failureLogs();
      assert.equal(line?.requestId, response.json.error.requestId);
      assert.equal(line?.status, 503);
      assert.equal(line?.err.message, SECRET_DETAIL);
    });

    it('answer a transaction given up under contention with 503 store_contention, and change nothing', async function () {
      const store = storeFailingWith(() => new TransactionAbortedError(SECRET_DETAIL));
      await store.inner.create('items', ITEM_ID, ITEM);
      const token = await start(store);
      const response = await call('PATCH', `/items/${ITEM_ID}`, { token, body: { name: 'Renamed' } });
      assert.equal(response.status, 503);
      assert.equal(response.json.error.code, 'store_contention');
      assert.equal(response.headers['retry-after'], '1');
      // Reads through the failing wrapper throw; ask the store below it.
      assert.deepEqual(await store.inner.get('items', ITEM_ID), ITEM);
      assert.equal(failureLogs()[0]?.requestId, response.json.error.requestId);
    });

    it('answer a closed store with 503 store_unavailable, not 500, and log it with the request id', async function () {
      const token = await start();
      // One request first, so the rate limiter has its points leased in memory and the
      // failure comes from the handler's own store call.
      assert.equal((await call('GET', '/items', { token })).status, 200);
      await api!.store.close();
      for (const path of [`/items/${ITEM_ID}`, '/items']) {
        const response = await call('GET', path, { token });
        assert.equal(response.status, 503, `${path}: ${response.text}`);
        assert.equal(response.json.error.code, 'store_unavailable');
        assert.equal(response.headers['retry-after'], '1');
        const line = failureLogs().find((entry) => entry.requestId === response.json.error.requestId);
        assert.ok(line, `a failure line for ${path}`);
        assert.equal(line.status, 503);
      }
    });

    it('answer a request that finds the store closed before rate limiting with 503 too (fail closed)', async function () {
      const token = await start();
      await api!.store.close();
      const response = await call('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
      assert.equal(response.status, 503);
      assert.equal(response.json.error.code, 'store_unavailable');
      assert.ok(failureLogs().some((entry) => entry.requestId === response.json.error.requestId));
    });
  });

  describe('client errors', function () {
    it('pass their headers through (405 Allow, 401 WWW-Authenticate)', async function () {
      const token = await start();
      const wrongMethod = await call('PUT', '/items', { token });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.json.error.code, 'method_not_allowed');
      assert.equal(wrongMethod.headers.allow, 'GET, POST');
      const anonymous = await call('GET', '/items');
      assert.equal(anonymous.status, 401);
      assert.match(String(anonymous.headers['www-authenticate']), /^Bearer realm="bastion"/);
    });

    it('pass their details through, and their own code and message', async function () {
      const token = await start();
      const invalid = await call('POST', '/items', { token, body: { name: 'x' } });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.json.error.code, 'validation_failed');
      assert.equal(invalid.json.error.message, 'The request is not valid; see details.');
      assert.ok(Array.isArray(invalid.json.error.details));
      assert.ok(invalid.json.error.details.length >= 2, JSON.stringify(invalid.json.error.details));
      const missing = await call('GET', `/items/${ITEM_ID}`, { token });
      assert.equal(missing.status, 404);
      assert.deepEqual(Object.keys(missing.json.error).sort(), ['code', 'message', 'requestId'], 'no details key when there are none');
    });

    it('are not logged as server failures', async function () {
      const token = await start();
      await call('PUT', '/items', { token });
      await call('POST', '/items', { token, body: { name: 'x' } });
      await call('GET', `/items/${ITEM_ID}`, { token });
      assert.deepEqual(failureLogs(), []);
      assert.ok(!api!.logs.some((entry) => entry.level === 'error'), api!.logText());
    });
  });
});
