/**
 * Store round trips per request, over HTTP, counted on the store the API is given — the cost
 * that dominates on Firestore, where each is a network call. Reading an item is one read;
 * listing a page is one query; writing one is one write or one transaction; and the rate limits
 * add their leased transactions, at most one in eight requests per bucket (two buckets here:
 * the global one and `api`). A change that adds a round trip to a request fails here.
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { countingStore, memoryStore, type RoundTrips } from '../support/stores.ts';

const REQUESTS = 64;
/** Limits large enough that leases take their full share (an eighth of what is left, at most 64). */
const LIMITS = { RATE_LIMIT_GLOBAL_PER_MINUTE: '100000', RATE_LIMIT_API_PER_MINUTE: '100000', RATE_LIMIT_CREATE_PER_MINUTE: '100000' };

describe('store round trips per request', function () {
  let api: TestApi;
  let counted: ReturnType<typeof countingStore>;
  let token: string;
  let id: string;

  before(async function () {
    counted = countingStore(memoryStore());
    api = await startApi(LIMITS, { store: counted.store });
    token = await api.token({ sub: 'alice', roles: ['user'] });
    const created = await api.request('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(created.status, 201, created.text);
    id = created.json.id as string;
  });

  after(async function () {
    await api.close();
  });

  /** The round trips of `REQUESTS` such requests, one after the other. */
  async function roundTripsOf(method: string, path: () => string, body?: () => unknown): Promise<RoundTrips> {
    counted.take();
    for (let i = 0; i < REQUESTS; i += 1) {
      const answer = await api.request(method, path(), { token, ...(body ? { body: body() } : {}) });
      assert.ok(answer.status < 300, `${method} ${path()}: ${answer.text}`);
    }
    return counted.take();
  }

  /** Two buckets, each at most one leased transaction in eight requests. */
  const RATE_LIMIT_TRANSACTIONS = (2 * REQUESTS) / 8;

  it('reads an item with one read, and the rate limits with at most one transaction in eight requests per bucket', async function () {
    const trips = await roundTripsOf('GET', () => `/items/${id}`);
    assert.equal(trips.reads, REQUESTS, 'one read per request');
    assert.equal(trips.queries + trips.writes, 0);
    assert.ok(trips.transactions <= RATE_LIMIT_TRANSACTIONS, `${trips.transactions} rate-limit transactions for ${REQUESTS} requests`);
  });

  it('lists a page with one query', async function () {
    const trips = await roundTripsOf('GET', () => '/items?limit=20');
    assert.equal(trips.queries, REQUESTS, 'one query per request');
    assert.equal(trips.reads + trips.writes, 0);
    assert.ok(trips.transactions <= RATE_LIMIT_TRANSACTIONS, `${trips.transactions} rate-limit transactions`);
  });

  it('creates an item with one write, and edits one with one transaction', async function () {
    const created = await roundTripsOf(
      'POST',
      () => '/items',
      () => ({ name: 'Lamp', description: 'One more' }),
    );
    assert.equal(created.writes, REQUESTS, 'one write per create');
    assert.equal(created.reads + created.queries, 0);
    // The create bucket counts per route too: three buckets.
    assert.ok(created.transactions <= (3 * REQUESTS) / 8, `${created.transactions} rate-limit transactions`);

    const edited = await roundTripsOf(
      'PATCH',
      () => `/items/${id}`,
      () => ({ name: 'Desk lamp, brass' }),
    );
    assert.equal(edited.reads + edited.queries + edited.writes, 0, 'the read and the write are inside the transaction');
    assert.ok(edited.transactions <= REQUESTS + RATE_LIMIT_TRANSACTIONS, `${edited.transactions} transactions: one per edit, plus the rate limits'`);
    assert.ok(edited.transactions >= REQUESTS);
  });
});
