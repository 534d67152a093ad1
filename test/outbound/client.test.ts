/**
 * The outbound client against a dependency on loopback that misbehaves: every failure ends
 * within the deadline as the dependency's 503 with Retry-After; idempotent calls are retried,
 * others not; a dependency that keeps failing is not called again for a while; key sets are kept
 * as their Cache-Control says and stand in, past their age, while the dependency is down.
 */
import assert from 'node:assert/strict';
import { ApiError } from '../../functions/src/errors/api-error.ts';
import { createOutboundClient, type OutboundOptions } from '../../functions/src/outbound/client.ts';
import { freePort } from '../../scripts/loopback.ts';
import { startStandIn, type StandIn } from '../support/stand-in.ts';

const json = (text: string) => JSON.parse(text) as unknown;
const keys = ({ text }: { text: string }) => {
  const body = json(text) as { keys?: unknown };
  if (!Array.isArray(body.keys)) throw new Error('no keys');
  return body.keys as unknown[];
};

describe('the outbound client (outbound/client.ts)', function () {
  let dependency: StandIn;
  const client = (options: Partial<OutboundOptions> = {}) =>
    createOutboundClient({ dependency: 'keys', unavailable: 'breached_password_check_unavailable', deadlineMs: 800, attemptMs: 300, ...options });

  beforeEach(async function () {
    dependency = await startStandIn();
  });

  afterEach(async function () {
    await dependency.close();
  });

  /** The call fails as the dependency's 503, within `withinMs`. */
  async function failsUnavailable(call: Promise<unknown>, withinMs: number): Promise<ApiError> {
    const started = Date.now();
    const error = await call.then(
      () => assert.fail('the call succeeded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, 'breached_password_check_unavailable');
    assert.equal(error.status, 503);
    assert.ok(error.retryAfterSeconds !== undefined && error.retryAfterSeconds >= 1);
    assert.ok(Date.now() - started < withinMs, `failed after ${Date.now() - started} ms`);
    return error;
  }

  it('reads an answer', async function () {
    dependency.on('/keys', { answer: '{"keys":[1,2]}' });
    assert.deepEqual(await client().get(`${dependency.url}/keys`, { read: keys }), [1, 2]);
  });

  it('gives up on a dependency that hangs at the deadline, not later', async function () {
    dependency.on('/keys', { hang: true });
    await failsUnavailable(client().get(`${dependency.url}/keys`, { read: keys }), 1200);
  });

  it('answers at once when the connection is refused (after its retries)', async function () {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await failsUnavailable(client().get(`${closed}/keys`, { read: keys }), 1200);
  });

  it('retries a 500, a dropped connection and garbage, and takes the answer that comes right', async function () {
    dependency.on('/keys', { answer: 'oops', status: 500 }, { drop: true }, { answer: '{"keys":[3]}' });
    assert.deepEqual(await client().get(`${dependency.url}/keys`, { read: keys }), [3]);
    assert.equal(dependency.hits('/keys'), 3);
    dependency.on('/garbage', { answer: '<html>a captive portal</html>' }, { answer: '{"keys":[4]}' });
    assert.deepEqual(await client().get(`${dependency.url}/garbage`, { read: keys }), [4]);
  });

  it('gives up after two retries of a dependency that keeps answering 500 or garbage', async function () {
    dependency.on('/keys', { answer: 'oops', status: 500 });
    await failsUnavailable(client().get(`${dependency.url}/keys`, { read: keys }), 1200);
    assert.equal(dependency.hits('/keys'), 3);
    dependency.on('/garbage', { answer: 'not json' });
    await failsUnavailable(client().get(`${dependency.url}/garbage`, { read: keys }), 1200);
    assert.equal(dependency.hits('/garbage'), 3);
  });

  it('does not retry a 4xx the dependency means (but 408 and 429 it does)', async function () {
    dependency.on('/keys', { answer: 'no', status: 403 });
    await failsUnavailable(client().get(`${dependency.url}/keys`, { read: keys }), 1200);
    assert.equal(dependency.hits('/keys'), 1);
    dependency.on('/busy', { answer: 'slow down', status: 429 }, { answer: '{"keys":[]}' });
    assert.deepEqual(await client().get(`${dependency.url}/busy`, { read: keys }), []);
  });

  it('waits for a slow answer within the attempt deadline; a slower one is given up and retried', async function () {
    dependency.on('/keys', { answer: '{"keys":[5]}', delayMs: 150 });
    assert.deepEqual(await client().get(`${dependency.url}/keys`, { read: keys }), [5]);
    dependency.on('/slower', { answer: '{"keys":[6]}', delayMs: 500 }, { answer: '{"keys":[7]}' });
    assert.deepEqual(await client().get(`${dependency.url}/slower`, { read: keys }), [7]);
  });

  it('refuses an answer larger than its bound', async function () {
    dependency.on('/keys', { answer: `{"keys":[${'1,'.repeat(600)}1]}` });
    await failsUnavailable(client({ maxBytes: 1000 }).get(`${dependency.url}/keys`, { read: keys }), 1200);
  });

  it('calls a dead dependency no more for a while once it failed 5 times in a row: then it fails at once, with Retry-After', async function () {
    dependency.on('/keys', { answer: 'oops', status: 500 });
    const breaking = client({ retries: 0, halfOpenAfterMs: 60_000 });
    for (let i = 0; i < 5; i += 1) await failsUnavailable(breaking.get(`${dependency.url}/keys`, { read: keys }), 1200);
    assert.equal(dependency.hits(), 5);
    const error = await failsUnavailable(breaking.get(`${dependency.url}/keys`, { read: keys }), 50);
    assert.equal(dependency.hits(), 5, 'not called');
    assert.ok(error.retryAfterSeconds! > 50 && error.retryAfterSeconds! <= 60, String(error.retryAfterSeconds));
  });

  it('tries a dead dependency again after a while, and closes the breaker when it answers', async function () {
    dependency.on('/keys', { answer: 'oops', status: 500 });
    const breaking = client({ retries: 0, breakAfter: 2, halfOpenAfterMs: 200 });
    for (let i = 0; i < 3; i += 1) await failsUnavailable(breaking.get(`${dependency.url}/keys`, { read: keys }), 1200);
    assert.equal(dependency.hits(), 2);
    await new Promise((resolve) => setTimeout(resolve, 250));
    dependency.on('/keys', { answer: '{"keys":[8]}' });
    assert.deepEqual(await breaking.get(`${dependency.url}/keys`, { read: keys }), [8]);
    assert.deepEqual(await breaking.get(`${dependency.url}/keys`, { read: keys }), [8]);
    assert.equal(dependency.hits(), 4);
  });

  describe('key sets, cached by Cache-Control', function () {
    it('keeps an answer for its max-age and asks again after it', async function () {
      dependency.on('/keys', { answer: '{"keys":[1]}', headers: { 'cache-control': 'public, max-age=1' } }, { answer: '{"keys":[2]}', headers: { 'cache-control': 'max-age=60' } });
      const cached = client();
      assert.deepEqual(await cached.get(`${dependency.url}/keys`, { read: keys, cache: true }), [1]);
      assert.deepEqual(await cached.get(`${dependency.url}/keys`, { read: keys, cache: true }), [1]);
      assert.equal(dependency.hits(), 1);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.deepEqual(await cached.get(`${dependency.url}/keys`, { read: keys, cache: true }), [2]);
      assert.equal(dependency.hits(), 2);
    });

    it('keeps nothing the answer says not to keep', async function () {
      dependency.on('/keys', { answer: '{"keys":[1]}', headers: { 'cache-control': 'no-store' } });
      const cached = client();
      await cached.get(`${dependency.url}/keys`, { read: keys, cache: true });
      await cached.get(`${dependency.url}/keys`, { read: keys, cache: true });
      assert.equal(dependency.hits(), 2);
    });

    it('asks once for many callers at the same moment', async function () {
      dependency.on('/keys', { answer: '{"keys":[1]}', headers: { 'cache-control': 'max-age=60' }, delayMs: 50 });
      const cached = client();
      const answers = await Promise.all(Array.from({ length: 10 }, () => cached.get(`${dependency.url}/keys`, { read: keys, cache: true })));
      assert.deepEqual(
        answers,
        Array.from({ length: 10 }, () => [1]),
      );
      assert.equal(dependency.hits(), 1);
    });

    it('lets a kept answer past its age stand in while the dependency fails, until maxStale', async function () {
      dependency.on('/keys', { answer: '{"keys":[1]}', headers: { 'cache-control': 'max-age=1' } }, { answer: 'down', status: 503 });
      const cached = client({ retries: 0, maxStaleMs: 1000 });
      await cached.get(`${dependency.url}/keys`, { read: keys, cache: true });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.deepEqual(await cached.get(`${dependency.url}/keys`, { read: keys, cache: true }), [1], 'the stale answer stands in');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await failsUnavailable(cached.get(`${dependency.url}/keys`, { read: keys, cache: true }), 1200);
    });
  });

  describe('calls of a library (an SDK)', function () {
    it('retries an idempotent call, not another; a verdict passes through as it is and does not count against the dependency', async function () {
      const verdict = new Error('the token is expired');
      const sdk = client({ isFailure: (error) => error !== verdict, breakAfter: 3 });
      let calls = 0;
      const flaky = async () => {
        calls += 1;
        if (calls < 3) throw new Error('ECONNRESET');
        return 'ok';
      };
      assert.equal(await sdk.call(flaky, { idempotent: true }), 'ok');
      assert.equal(calls, 3);
      calls = 0;
      await failsUnavailable(sdk.call(flaky, { idempotent: false }), 500);
      assert.equal(calls, 1, 'not repeated');
      for (let i = 0; i < 3; i += 1) {
        await assert.rejects(
          sdk.call(() => Promise.reject(verdict), { idempotent: true }),
          (error) => error === verdict,
        );
      }
      assert.equal(await sdk.call(async () => 'still called', { idempotent: true }), 'still called', 'verdicts did not open the breaker');
    });

    it('aborts a call that runs past its deadline through its signal', async function () {
      let aborted = false;
      const hanging = (signal: AbortSignal) =>
        new Promise<never>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        });
      await failsUnavailable(client({ retries: 0 }).call(hanging, { idempotent: true }), 1200);
      assert.equal(aborted, true);
    });
  });
});
