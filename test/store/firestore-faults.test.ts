/**
 * What happens when Firestore stops answering, on a Cloud SDK emulator of this spec's own,
 * through the driver as production runs it (REST) with a short deadline:
 *
 * - the HTTP API under load (logins, reads, writes, the first request of a new user, which
 *   must reach the rate-limit store) while the emulator is frozen (SIGSTOP: connections hang)
 *   or killed (connection refused): every request is answered within the deadline and a
 *   second, never with a 500, every failure a 503 `store_unavailable` with Retry-After; once
 *   the emulator is back the same API, not restarted, serves every kind of request again;
 * - what Firestore raises inside a transaction is translated like any other store failure,
 *   while the caller's own error reaches it unchanged;
 * - calls hung on a frozen store are bounded in number.
 *
 * Timings are bounds against the deadline, not speed targets. Without the Cloud SDK's emulator
 * (or Java) the spec reports as skipped, and says why in its title.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../../functions/src/store/errors.ts';
import { openFirestoreStore, type FirestoreDocumentStore, type FirestoreStoreOptions } from '../../functions/src/store/firestore.ts';
import { send, startApi, type RequestOptions, type Response, type TestApi } from '../support/api.ts';
import { emulatorUnavailable, FirestoreEmulator } from '../support/firestore-emulator.ts';
import { waitFor } from '../../scripts/wait.ts';

const DEADLINE_MS = 1000;
/** Every request is answered within this, whatever the store does. */
const ANSWER_BOUND_MS = DEADLINE_MS + 1000;
const PASSWORD = 'correct horse battery staple';
const READERS = 2;
const WRITERS = 2;

const unavailable = emulatorUnavailable();

describe(`Firestore faults${unavailable ? ` (skipped: ${unavailable})` : ''}`, function () {
  this.timeout(120_000);
  let emulator: FirestoreEmulator | undefined;

  before(async function () {
    if (unavailable) this.skip();
    emulator = await FirestoreEmulator.start();
  });

  after(async function () {
    await emulator?.stop();
  });

  function openStore(options: FirestoreStoreOptions = {}): Promise<FirestoreDocumentStore> {
    return openFirestoreStore({
      projectId: `demo-faults-${randomUUID().slice(0, 8)}`,
      emulatorHost: emulator!.host,
      transport: 'rest',
      deadlineMs: DEADLINE_MS,
      ...options,
    });
  }

  describe('the HTTP API under load', function () {
    let api: TestApi;

    beforeEach(async function () {
      // Each load worker is a client of its own address, as users are (TRUSTED_PROXY_HOPS).
      api = await startApi({ TRUSTED_PROXY_HOPS: '1' }, { store: await openStore() });
    });

    afterEach(async function () {
      await emulator?.ensureRunning();
      await api?.close();
    });

    const outages = [
      {
        name: 'frozen',
        begin: async () => emulator!.freeze(),
        end: async () => emulator!.resume(),
      },
      {
        name: 'killed',
        begin: () => emulator!.kill(),
        // Back on the same port, and empty: the accounts and items are made again.
        end: () => emulator!.restart(),
      },
    ];

    for (const outage of outages) {
      it(`answers every request in time, 503 store_unavailable when it fails, while the emulator is ${outage.name}; then serves again`, async function () {
        const fixtures = await seed(api);
        const before = await startLoad(api, fixtures);
        await before.untilEveryWorker((answer, worker) => answer.status === worker.success, 2, 'healthy answers before the outage');

        const outageAt = performance.now();
        await outage.begin();
        await before.untilEveryWorker((answer) => answer.startedAt > outageAt, 3, 'answers during the outage');
        await before.stop();

        await outage.end();
        const reseeded = await seed(api);
        const after = await startLoad(api, reseeded);
        await after.untilEveryWorker((answer, worker) => answer.status === worker.success, 1, 'a success of each kind after the outage', 30_000);
        await after.stop();

        // Every request answered while the store was away, those then in flight included. (After
        // it is back, the emulator's first answers are slow: it starts cold, as after a kill.)
        const timed = before.answers.filter(([, answer]) => answer.startedAt + answer.ms > outageAt);
        for (const [worker, answer] of timed) {
          const what = `${worker.name} #${answer.n} (${answer.status} ${answer.code ?? ''}, ${Math.round(answer.ms)} ms)`;
          assert.ok(answer.ms <= ANSWER_BOUND_MS, `${what}: answered after more than ${ANSWER_BOUND_MS} ms`);
        }
        for (const [worker, answer] of [...before.answers, ...after.answers]) {
          const what = `${worker.name} #${answer.n} (${answer.status} ${answer.code ?? ''})`;
          if (answer.status === worker.success) continue;
          assert.equal(answer.status, 503, `${what}: only 503 may stand for a store failure`);
          assert.equal(answer.code, 'store_unavailable', what);
          assert.match(answer.retryAfter ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
        }
        for (const worker of before.workers) {
          const failed = before.answersOf(worker).filter((answer) => answer.startedAt > outageAt && answer.status === 503);
          assert.ok(failed.length > 0, `${worker.name}: the outage was felt`);
        }
      });
    }
  });

  describe('errors inside a transaction', function () {
    // Long deadlines: it is the store's own error that must come back (the client gives up on
    // a refused connection after its own retries, some 8 s), not the deadline's.
    const LONG_DEADLINE_MS = 30_000;
    let store: FirestoreDocumentStore;

    beforeEach(async function () {
      store = await openStore({ deadlineMs: LONG_DEADLINE_MS, maxTransactionAttempts: 1 });
      await store.set('things', 'a', { n: 1 });
      await emulator!.kill();
    });

    afterEach(async function () {
      await emulator?.ensureRunning();
      await store?.close();
    });

    it('translates what Firestore raises from a read in the work into StoreUnavailableError', async function () {
      const started = performance.now();
      const error = await rejection(store.runTransaction(async (tx) => tx.get('things', 'a')));
      assert.ok(error instanceof StoreUnavailableError, `rejected with ${String(error)}`);
      assert.equal((error.cause as { code?: unknown } | undefined)?.code, 14, "caused by Firestore's UNAVAILABLE");
      assert.ok(performance.now() - started < LONG_DEADLINE_MS, 'by the store, not by the deadline');
    });

    it("hands the caller's own error back unchanged, before any read and after a failed one", async function () {
      class ChangedMyMind extends Error {}
      const first = new ChangedMyMind('before any read');
      assert.equal(await rejection(store.runTransaction(async () => Promise.reject(first))), first);
      const second = new ChangedMyMind('after a failed read');
      let readFailed = false;
      const caught = await rejection(
        store.runTransaction(async (tx) => {
          await tx.get('things', 'a').catch(() => (readFailed = true));
          throw second;
        }),
      );
      assert.ok(readFailed);
      assert.equal(caught, second);
    });
  });

  describe('calls hung on a frozen store', function () {
    it('are bounded in number: past the bound a call fails at once; once the store answers, calls are taken again', async function () {
      const store = await openStore({ maxOutstandingCalls: 4 });
      try {
        await waitFor(
          () =>
            store.set('things', 'a', { n: 1 }).then(
              () => true,
              () => false,
            ),
          { timeoutMs: 30_000, what: 'a first write (the emulator may be cold)' },
        );
        emulator!.freeze();
        const hung = Array.from({ length: 4 }, () => rejection(store.get('things', 'a')));
        const started = performance.now();
        const refused = await rejection(store.get('things', 'a'));
        assert.ok(refused instanceof StoreUnavailableError);
        assert.ok(performance.now() - started < DEADLINE_MS / 2, 'refused without waiting for the deadline');
        for (const error of await Promise.all(hung)) assert.ok(error instanceof StoreUnavailableError);

        emulator!.resume();
        await waitFor(() => store.outstandingCalls === 0, { timeoutMs: 30_000, what: 'the hung calls end once the store answers' });
        assert.deepEqual(await store.get('things', 'a'), { n: 1 });
      } finally {
        await emulator!.ensureRunning();
        await store.close();
      }
    });
  });
});

interface Fixtures {
  email: string;
  /** Per read worker: an owner's token and one of their items. */
  readers: { token: string; itemId: string }[];
}

/** A user who can log in, and items for the readers, made through the API (retried while the store comes back). */
async function seed(api: TestApi): Promise<Fixtures> {
  const email = `load-${randomUUID().slice(0, 8)}@example.com`;
  // A try whose answer was a 503 may have been stored: the next answers 202 all the same.
  let last: Response | undefined;
  await waitFor(async () => (last = await api.request('POST', '/auth/register', { body: { email, password: PASSWORD } })).status === 202, {
    timeoutMs: 30_000,
    what: () => `registered (last answer: ${last?.status} ${last?.text})`,
  });
  const readers = [];
  for (let i = 0; i < READERS; i += 1) {
    const token = await api.token({ sub: `owner-${randomUUID()}` });
    await waitFor(async () => (last = await api.request('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } })).status === 201, {
      timeoutMs: 30_000,
      what: () => `item created (last answer: ${last?.status} ${last?.text})`,
    });
    readers.push({ token, itemId: last!.json.id as string });
  }
  return { email, readers };
}

interface Worker {
  name: string;
  /** What this request answers when the store works. */
  success: number;
  send(): Promise<Response>;
}

interface Answer {
  n: number;
  startedAt: number;
  ms: number;
  status: number;
  code: string | undefined;
  retryAfter: string | undefined;
}

/**
 * Workers, each sending its kind of request one after another, as fast as they are answered,
 * each as a user and from an address of its own. Straight over HTTP (`send`), timed from the
 * first byte out to the last one in.
 */
async function startLoad(api: TestApi, fixtures: Fixtures) {
  let clients = 0;
  const worker = (name: string, success: number, request: () => Promise<[string, string, RequestOptions]>): Worker => {
    clients += 1;
    const headers = { 'x-forwarded-for': `198.51.100.${clients}` };
    return {
      name,
      success,
      send: async () => {
        const [method, path, options] = await request();
        return send(api.url, method, path, { ...options, headers });
      },
    };
  };
  const item = { name: 'Tea kettle', description: 'Whistles when ready' };
  const writers = await Promise.all(Array.from({ length: WRITERS }, () => api.token({ sub: `writer-${randomUUID()}` })));
  const workers: Worker[] = [
    worker('login', 200, async () => ['POST', '/auth/login', { body: { email: fixtures.email, password: PASSWORD } }]),
    ...fixtures.readers.map(({ token, itemId }, i) => worker(`read ${i + 1}`, 200, async () => ['GET', `/items/${itemId}`, { token }])),
    ...writers.map((token, i) => worker(`write ${i + 1}`, 201, async () => ['POST', '/items', { token, body: item }])),
    ...[1, 2].map((i) => worker(`first request of a user ${i}`, 200, async () => ['GET', '/items', { token: await api.token({ sub: `new-${randomUUID()}` }) }])),
  ];

  const answers: [Worker, Answer][] = [];
  let running = true;
  const loops = workers.map(async (worker) => {
    for (let n = 1; running; n += 1) {
      const startedAt = performance.now();
      const response = await worker.send();
      const retryAfter = response.headers['retry-after'];
      answers.push([
        worker,
        {
          n,
          startedAt,
          ms: performance.now() - startedAt,
          status: response.status,
          code: response.json?.error?.code,
          retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
        },
      ]);
    }
  });

  const answersOf = (worker: Worker) => answers.filter(([w]) => w === worker).map(([, answer]) => answer);
  return {
    workers,
    answers,
    answersOf,
    /** Waits until each worker has `count` answers that `matches`. */
    untilEveryWorker(matches: (answer: Answer, worker: Worker) => boolean, count: number, what: string, timeoutMs = 20_000) {
      return waitFor(() => workers.every((w) => answersOf(w).filter((answer) => matches(answer, w)).length >= count), { timeoutMs, what });
    },
    /** Stops sending, and waits for the requests in flight to be answered. */
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}
