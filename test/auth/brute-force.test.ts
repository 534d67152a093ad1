/**
 * Brute-force protection of password logins: consecutive failures per email and IP, failures
 * per IP per day, failures per account per hour; 429 with Retry-After once a limit is reached,
 * before the password is looked at, the same for accounts that exist and accounts that do not.
 */
import assert from 'node:assert/strict';
import { createLoginGuard } from '../../functions/src/auth/brute-force.ts';
import { RateLimitedError } from '../../functions/src/pipeline/errors.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { memoryStore } from '../support/stores.ts';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

describe('login brute-force protection', function () {
  describe('over HTTP', function () {
    let api: TestApi;

    beforeEach(async function () {
      api = await startApi();
      assert.equal((await api.request('POST', '/auth/register', { body: { email: EMAIL, password: PASSWORD } })).status, 201);
    });

    afterEach(async function () {
      await api.close();
    });

    const login = (email: string, password: string) => api.request('POST', '/auth/login', { body: { email, password } });

    async function fail(times: number, email = EMAIL): Promise<void> {
      for (let i = 0; i < times; i += 1) assert.equal((await login(email, `wrong guess number ${i}`)).status, 401);
    }

    it('after 10 consecutive failures refuses even the right password, with 429 and Retry-After', async function () {
      this.timeout(30_000);
      await fail(10);
      const blocked = await login(EMAIL, PASSWORD);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.json.error.code, 'rate_limited');
      const retryAfter = Number(blocked.headers['retry-after']);
      assert.ok(retryAfter > 3000 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      assert.ok(!blocked.text.includes('accessToken'));
    });

    it('blocks an unknown email just the same, so the block reveals nothing', async function () {
      this.timeout(30_000);
      await fail(10, 'nobody@example.com');
      const blocked = await login('nobody@example.com', PASSWORD);
      assert.equal(blocked.status, 429);
    });

    it('resets the consecutive count on a successful login', async function () {
      this.timeout(30_000);
      await fail(9);
      assert.equal((await login(EMAIL, PASSWORD)).status, 200);
      await fail(9);
      assert.equal((await login(EMAIL, PASSWORD)).status, 200);
    });

    it('keeps other emails from the same address usable', async function () {
      this.timeout(30_000);
      await fail(10);
      assert.equal((await api.request('POST', '/auth/register', { body: { email: 'bob@example.com', password: PASSWORD } })).status, 201);
      assert.equal((await login('bob@example.com', PASSWORD)).status, 200);
    });
  });

  // The daily and hourly limits (100 failures) are shown on the guard itself: over HTTP each
  // failure costs a deliberate 0.3 s of scrypt.
  describe('the guard', function () {
    it('refuses an IP after 100 failures in a day, whatever the emails', async function () {
      const guard = createLoginGuard(memoryStore());
      for (let i = 0; i < 100; i += 1) await guard.recordFailure(`user${i}@example.com`, '203.0.113.7');
      await assert.rejects(guard.check('fresh@example.com', '203.0.113.7'), (error: unknown) => {
        assert.ok(error instanceof RateLimitedError);
        assert.ok(Number(error.headers['Retry-After']) > 23 * 3600);
        return true;
      });
      await guard.check('fresh@example.com', '198.51.100.1');
    });

    it('refuses an account after 100 failures in an hour, from any number of addresses', async function () {
      const guard = createLoginGuard(memoryStore());
      for (let i = 0; i < 100; i += 1) await guard.recordFailure(EMAIL, `203.0.113.${i}`);
      await assert.rejects(guard.check(EMAIL, '198.51.100.1'), RateLimitedError);
      await guard.check('bob@example.com', '198.51.100.1');
    });

    it('allows 99 failures on an account, and a success does not reset the account count', async function () {
      const guard = createLoginGuard(memoryStore());
      for (let i = 0; i < 99; i += 1) await guard.recordFailure(EMAIL, `203.0.113.${i}`);
      await guard.check(EMAIL, '198.51.100.1');
      await guard.recordSuccess(EMAIL, '198.51.100.1');
      await guard.recordFailure(EMAIL, '198.51.100.2');
      await assert.rejects(guard.check(EMAIL, '198.51.100.3'), RateLimitedError);
    });
  });
});
