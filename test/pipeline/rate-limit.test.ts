/**
 * Rate limiting (rate-limiter-flexible over the document store): a global bucket per client
 * IP, an `api` bucket per user, a `create` bucket per user and route. The global bucket
 * counts every request once, those refused before any route (preflights, foreign origins,
 * 404, 405) included. Exact under concurrency; a refusal is 429 with `Retry-After` and
 * `RateLimit-*`; once a key is over its limit, further requests are refused from memory
 * without touching the store; a store that fails makes the limiter fail closed (503), never
 * open.
 */
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../functions/src/store/errors.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';
import { ALLOWED_ORIGIN, type Response } from '../support/api.ts';
import { injectApi, type InjectedApi } from '../support/inject.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

const ITEM = { name: 'Desk lamp', description: 'Warm light' };
const FOREIGN_ORIGIN = 'https://evil.example.net';

/** A real store that counts the transactions the rate limiter runs on it. */
function countingStore(): { store: DocumentStore; transactions: () => number } {
  const inner = memoryStore();
  let transactions = 0;
  const store = withOverrides(inner, {
    runTransaction: (work) => {
      transactions += 1;
      return inner.runTransaction(work);
    },
  });
  return { store, transactions: () => transactions };
}

function statuses(responses: Response[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

function assertRateLimited(response: Response, limit: number): void {
  assert.equal(response.status, 429);
  assert.equal(response.json.error.code, 'rate_limited');
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${response.headers['retry-after']}`);
  assert.equal(response.headers['ratelimit-limit'], String(limit));
  assert.equal(response.headers['ratelimit-remaining'], '0');
  assert.match(String(response.headers['ratelimit-reset']), /^\d+$/);
  assert.equal(response.headers['ratelimit-policy'], `${limit};w=60`);
  // Refusals are responses like any other: headers, request id.
  assert.equal(response.headers['cache-control'], 'private, no-store');
  assert.equal(response.json.error.requestId, response.headers['x-request-id']);
}

describe('rate limiting', function () {
  let api: InjectedApi | undefined;

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  describe('the api bucket, per user', function () {
    for (const limit of [1, 7, 10]) {
      it(`lets exactly ${limit} of 50 simultaneous requests through, refusing the rest with 429`, async function () {
        api = await injectApi({ RATE_LIMIT_API_PER_MINUTE: String(limit) });
        const token = await api.token();
        const responses = await Promise.all(Array.from({ length: 50 }, () => api!.request('GET', '/items', { token })));
        assert.deepEqual(statuses(responses), { 200: limit, 429: 50 - limit });
        for (const response of responses.filter((r) => r.status === 429)) assertRateLimited(response, limit);
      });
    }

    it('counts down RateLimit-Remaining on the requests it lets through', async function () {
      api = await injectApi({ RATE_LIMIT_API_PER_MINUTE: '5' });
      const token = await api.token();
      const remaining: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const response: Response = await api.request('GET', '/items', { token });
        assert.equal(response.status, 200);
        assert.equal(response.headers['ratelimit-limit'], '5');
        remaining.push(String(response.headers['ratelimit-remaining']));
      }
      assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);
      assertRateLimited(await api.request('GET', '/items', { token }), 5);
    });

    it('keeps users apart: one user over the limit does not slow another', async function () {
      api = await injectApi({ RATE_LIMIT_API_PER_MINUTE: '3' });
      const alice = await api.token({ sub: 'alice' });
      const bob = await api.token({ sub: 'bob' });
      for (let i = 0; i < 3; i += 1) assert.equal((await api.request('GET', '/items', { token: alice })).status, 200);
      assert.equal((await api.request('GET', '/items', { token: alice })).status, 429);
      assert.equal((await api.request('GET', '/items', { token: bob })).status, 200);
    });
  });

  describe('the global bucket, per IP', function () {
    it('counts every request from the address, authenticated or not, public routes included', async function () {
      api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: '5' });
      const token = await api.token();
      const first = await Promise.all([
        api.request('GET', '/items', { token }),
        api.request('GET', '/items'),
        api.request('GET', '/auth/.well-known/jwks.json'),
        api.request('GET', '/items', { token: await api.token({ sub: 'bob' }) }),
        api.request('GET', '/auth/.well-known/jwks.json'),
      ]);
      assert.deepEqual(
        first.map((r) => r.status),
        [200, 401, 200, 200, 200],
      );
      assertRateLimited(await api.request('GET', '/auth/.well-known/jwks.json'), 5);
      assertRateLimited(await api.request('GET', '/items', { token }), 5);
    });

    it('refuses before looking at the token, so a flood of forged tokens costs no verification', async function () {
      api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: '2' });
      await api.request('GET', '/items', { token: 'forged.token.here' });
      await api.request('GET', '/items', { token: 'forged.token.here' });
      const response = await api.request('GET', '/items', { token: 'forged.token.here' });
      assert.equal(response.status, 429, 'not 401: the token was never looked at');
    });
  });

  describe('the global bucket, for requests refused before their route', function () {
    // Each kind is answered without reaching a route (a preflight, a refusal of the origin, a
    // 404 or 405 of the router, a path outside the functions); each must still count.
    const LIMIT = 4;
    const kinds: { name: string; method: string; path: string; headers?: Record<string, string>; status: number }[] = [
      { name: 'preflights', method: 'OPTIONS', path: '/items', headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' }, status: 204 },
      { name: 'preflights from a foreign origin', method: 'OPTIONS', path: '/items', headers: { origin: FOREIGN_ORIGIN, 'access-control-request-method': 'POST' }, status: 403 },
      { name: 'writes from a foreign origin', method: 'POST', path: '/items', headers: { origin: FOREIGN_ORIGIN }, status: 403 },
      { name: '404s of a function', method: 'GET', path: '/items/a/b/c', status: 404 },
      { name: '405s', method: 'PUT', path: '/items', status: 405 },
      { name: '404s outside the functions', method: 'GET', path: '/no-such-page', status: 404 },
    ];
    for (const kind of kinds) {
      it(`counts ${kind.name}: past the allowance, 429 with Retry-After`, async function () {
        api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: String(LIMIT) });
        const answered: number[] = [];
        for (let i = 0; i < LIMIT; i += 1) answered.push((await api.request(kind.method, kind.path, { headers: kind.headers })).status);
        assert.deepEqual(
          answered,
          Array.from({ length: LIMIT }, () => kind.status),
        );
        assertRateLimited(await api.request(kind.method, kind.path, { headers: kind.headers }), LIMIT);
      });
    }

    it('counts every kind in the one bucket of the address', async function () {
      api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: String(kinds.length) });
      for (const kind of kinds) assert.equal((await api.request(kind.method, kind.path, { headers: kind.headers })).status, kind.status, kind.name);
      const refused = await Promise.all(kinds.map((kind) => api!.request(kind.method, kind.path, { headers: kind.headers })));
      for (const response of refused) assertRateLimited(response, kinds.length);
    });

    it('lets an allowed origin read the 429 (CORS headers on the refusal)', async function () {
      api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: '1' });
      await api.request('GET', '/items/a/b/c');
      const refused = await api.request('GET', '/items', { headers: { origin: ALLOWED_ORIGIN } });
      assertRateLimited(refused, 1);
      assert.equal(refused.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.match(String(refused.headers['access-control-expose-headers']), /Retry-After/);
    });

    it('counts a request that reaches its route once, not once more at the route', async function () {
      api = await injectApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: '4' });
      const token = await api.token();
      const remaining: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const response: Response = await api.request('GET', '/items', { token });
        assert.equal(response.status, 200);
        remaining.push(String(response.headers['ratelimit-remaining']));
      }
      assert.deepEqual(remaining, ['3', '2', '1', '0']);
      assertRateLimited(await api.request('GET', '/items', { token }), 4);
    });
  });

  describe('the create bucket, per user and route', function () {
    it('allows 5 creates a minute, refuses the 6th, and stores exactly 5', async function () {
      api = await injectApi({ RATE_LIMIT_CREATE_PER_MINUTE: '5' });
      const token = await api.token();
      for (let i = 0; i < 5; i += 1) assert.equal((await api.request('POST', '/items', { token, body: ITEM })).status, 201);
      assertRateLimited(await api.request('POST', '/items', { token, body: ITEM }), 5);
      assert.equal((await api.store.query('items', { limit: 100 })).documents.length, 5);
      // Reading is another bucket: still fine.
      assert.equal((await api.request('GET', '/items', { token })).status, 200);
    });

    it('stores exactly 5 of 20 simultaneous creates', async function () {
      api = await injectApi({ RATE_LIMIT_CREATE_PER_MINUTE: '5' });
      const token = await api.token();
      const responses = await Promise.all(Array.from({ length: 20 }, () => api!.request('POST', '/items', { token, body: ITEM })));
      assert.deepEqual(statuses(responses), { 201: 5, 429: 15 });
      assert.equal((await api.store.query('items', { limit: 100 })).documents.length, 5);
    });
  });

  describe('cost', function () {
    it('refuses a key over its limit from memory: 20 more requests add no store transaction', async function () {
      const counting = countingStore();
      api = await injectApi({ RATE_LIMIT_API_PER_MINUTE: '3' }, { store: counting.store });
      const token = await api.token();
      for (let i = 0; i < 4; i += 1) await api.request('GET', '/items', { token });
      const before = counting.transactions();
      const flood = await Promise.all(Array.from({ length: 20 }, () => api!.request('GET', '/items', { token })));
      assert.deepEqual(statuses(flood), { 429: 20 });
      assert.equal(counting.transactions(), before);
    });

    it('does not go to the store for every request it admits (points are leased)', async function () {
      const counting = countingStore();
      api = await injectApi({ RATE_LIMIT_API_PER_MINUTE: '1000', RATE_LIMIT_GLOBAL_PER_MINUTE: '1000' }, { store: counting.store });
      const token = await api.token();
      for (let i = 0; i < 100; i += 1) assert.equal((await api.request('GET', '/items', { token })).status, 200);
      assert.ok(counting.transactions() < 50, `${counting.transactions()} transactions for 100 requests in two buckets`);
    });
  });

  describe('when the store fails', function () {
    it('fails closed: 503 store_unavailable, never an unlimited 200', async function () {
      const broken = withOverrides(memoryStore(), {
        runTransaction: async () => {
          throw new StoreUnavailableError('rate limit store down');
        },
      });
      api = await injectApi({}, { store: broken });
      const response = await api.request('GET', '/items', { token: await api.token() });
      assert.equal(response.status, 503);
      assert.equal(response.json.error.code, 'store_unavailable');
      assert.equal(response.headers['retry-after'], '1');
    });
  });
});
