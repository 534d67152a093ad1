/**
 * `npm run bench` (BENCH_ONLY=round-trips): store round trips per request, by route kind,
 * counted by an instrumented store under the real pipeline over HTTP — on Firestore each is a
 * network call, so a change that adds one shows here (test/items/round-trips.test.ts holds the
 * item routes to their budget). Limits are set high, as in the request benchmark, so leases
 * take their full share: the rate-limit transactions are what one user's steady traffic costs.
 */
import { startApi } from '../support/api.ts';
import { countingStore, memoryStore, type RoundTrips } from '../support/stores.ts';

const REQUESTS = 256;

export async function roundTripsBench(): Promise<void> {
  const counted = countingStore(memoryStore());
  const api = await startApi(
    { RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000000', RATE_LIMIT_API_PER_MINUTE: '1000000000', RATE_LIMIT_CREATE_PER_MINUTE: '1000000000' },
    { store: counted.store },
  );
  try {
    const token = await api.token({ sub: 'bench-user', roles: ['user'] });
    const ids: string[] = [];
    const kinds: [string, string, (i: number) => string, ((i: number) => unknown)?][] = [
      ['POST /items', 'POST', () => '/items', (i) => ({ name: `Lamp ${i}`, description: 'Warm light' })],
      ['GET /items/:id', 'GET', (i) => `/items/${ids[i % ids.length]}`],
      ['GET /items (a page of 20)', 'GET', () => '/items?limit=20'],
      ['PATCH /items/:id', 'PATCH', (i) => `/items/${ids[i % ids.length]}`, (i) => ({ name: `Lamp ${i}, brass` })],
      ['DELETE /items/:id', 'DELETE', (i) => `/items/${ids[i]}`],
      ['GET /uploads', 'GET', () => '/uploads?limit=20'],
    ];
    const rows: Record<string, Record<keyof RoundTrips | 'total', string>> = {};
    for (const [label, method, path, body] of kinds) {
      counted.take();
      for (let i = 0; i < REQUESTS; i += 1) {
        const answer = await api.request(method, path(i), { token, ...(body ? { body: body(i) } : {}) });
        if (answer.status >= 300) throw new Error(`${method} ${path(i)} answered ${answer.status}: ${answer.text}`);
        if (method === 'POST') ids.push(answer.json.id as string);
      }
      const trips = counted.take();
      const per = (n: number) => (n / REQUESTS).toFixed(3);
      rows[label] = {
        reads: per(trips.reads),
        queries: per(trips.queries),
        transactions: per(trips.transactions),
        writes: per(trips.writes),
        total: per(trips.reads + trips.queries + trips.transactions + trips.writes),
      };
    }
    console.log(`bench: store round trips per request, by route kind (${REQUESTS} requests of each, one user; the rate limits' leased transactions included)\n`);
    console.table(rows);
  } finally {
    await api.close();
  }
}
