/**
 * Guessing limits for passwords and second factors. A login reserves its failure before the
 * password is looked at, so simultaneous guesses are counted like consecutive ones; the right
 * password gives the reservation back. Limits: 10 consecutive failures per email and IP, 100
 * per IP a day, 100 per account an hour from unknown devices; a device that signed in before
 * (its device token) has its own 10 an hour instead, so strangers cannot lock the owner out of
 * it. Second factors: 10 failures per account an hour across challenges, 100 per IP a day.
 * Every refusal is 429 with Retry-After, the same for accounts that exist and that do not.
 */
import assert from 'node:assert/strict';
import { createLoginGuard, createMfaGuard, type Attempt } from '../../functions/src/auth/brute-force.ts';
import { currentCode } from '../support/totp.ts';
import { RateLimitedError } from '../../functions/src/errors/api-error.ts';
import { headersFor } from '../../functions/src/pipeline/error-mapper.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';
import { memoryStore } from '../support/stores.ts';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

const statuses = (responses: Response[]) => responses.reduce<Record<number, number>>((counts, r) => ({ ...counts, [r.status]: (counts[r.status] ?? 0) + 1 }), {});

describe('guessing limits', function () {
  this.timeout(60_000);

  describe('password logins over HTTP', function () {
    let api: TestApi;

    beforeEach(async function () {
      // Each request names its client address, as Hosting's X-Forwarded-For does.
      api = await startApi({ TRUSTED_PROXY_HOPS: '1' });
      assert.equal((await api.request('POST', '/auth/register', { body: { email: EMAIL, password: PASSWORD } })).status, 202);
    });

    afterEach(async function () {
      await api.close();
    });

    const login = (email: string, password: string, from = '203.0.113.1', extra: Record<string, string> = {}) =>
      api.request('POST', '/auth/login', { body: { email, password, ...extra }, headers: { 'x-forwarded-for': from } });

    async function fail(times: number, email = EMAIL, from = '203.0.113.1'): Promise<void> {
      for (let i = 0; i < times; i += 1) assert.equal((await login(email, `wrong guess number ${i}`, from)).status, 401);
    }

    it('after 10 consecutive failures refuses even the right password, with 429 and Retry-After', async function () {
      await fail(10);
      const blocked = await login(EMAIL, PASSWORD);
      assert.equal(blocked.status, 429);
      assert.equal(blocked.json.error.code, 'rate_limited');
      const retryAfter = Number(blocked.headers['retry-after']);
      assert.ok(retryAfter > 3000 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
      assert.ok(!blocked.text.includes('accessToken'));
    });

    it('evaluates at most 10 of 40 simultaneous guesses from one address', async function () {
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => login(EMAIL, `simultaneous guess ${i}`)));
      const counts = statuses(burst);
      assert.ok((counts[401] ?? 0) <= 10, `evaluated: ${JSON.stringify(counts)}`);
      assert.equal((counts[401] ?? 0) + (counts[429] ?? 0) + (counts[503] ?? 0), 40, JSON.stringify(counts));
      // A 503 (the store or the hashing queue busy) was never judged and gave its point back; once
      // 10 were judged, the pair is spent.
      if (counts[401] === 10) assert.equal((await login(EMAIL, PASSWORD)).status, 429, 'the pair is spent');
    });

    it('blocks an unknown email just the same, so the block reveals nothing', async function () {
      await fail(10, 'nobody@example.com');
      assert.equal((await login('nobody@example.com', PASSWORD)).status, 429);
    });

    it('resets the consecutive count on a successful login', async function () {
      await fail(9);
      assert.equal((await login(EMAIL, PASSWORD)).status, 200);
      await fail(9);
      assert.equal((await login(EMAIL, PASSWORD)).status, 200);
    });

    it('keeps other emails from the same address usable', async function () {
      await fail(10);
      assert.equal((await api.request('POST', '/auth/register', { body: { email: 'bob@example.com', password: PASSWORD } })).status, 202);
      assert.equal((await login('bob@example.com', PASSWORD)).status, 200);
    });

    it("lets the owner's device sign in where strangers are locked out, and only with the device token of this account", async function () {
      const first = await login(EMAIL, PASSWORD);
      assert.equal(first.status, 200);
      const deviceToken: string = first.json.deviceToken;
      assert.match(deviceToken, /^d1\./);
      // Someone behind the owner's address (the same NAT) spends the address's allowance for the account.
      await fail(10);
      assert.equal((await login(EMAIL, PASSWORD)).status, 429, 'a device without the token is locked out');
      const owner = await login(EMAIL, PASSWORD, '203.0.113.1', { deviceToken });
      assert.equal(owner.status, 200, owner.text);
      assert.ok(owner.json.deviceToken, 'each sign-in hands out a device token');
      // A device token is bound to its account, and to this server's key.
      assert.equal((await api.request('POST', '/auth/register', { body: { email: 'bob@example.com', password: PASSWORD } })).status, 202);
      const bobs = (await login('bob@example.com', PASSWORD, '198.51.100.9')).json.deviceToken as string;
      assert.equal((await login(EMAIL, PASSWORD, '203.0.113.1', { deviceToken: bobs })).status, 429);
      const forged = `${deviceToken.slice(0, -4)}AAAA`;
      assert.equal((await login(EMAIL, PASSWORD, '203.0.113.1', { deviceToken: forged })).status, 429);
    });

    it("gives a known device its own budget: 10 wrong passwords lock that device, not the owner's others", async function () {
      const phone = (await login(EMAIL, PASSWORD, '198.51.100.1')).json.deviceToken as string;
      const laptop = (await login(EMAIL, PASSWORD, '198.51.100.2')).json.deviceToken as string;
      for (let i = 0; i < 10; i += 1) assert.equal((await login(EMAIL, `stolen phone guess ${i}`, '198.51.100.1', { deviceToken: phone })).status, 401);
      assert.equal((await login(EMAIL, PASSWORD, '198.51.100.1', { deviceToken: phone })).status, 429);
      assert.equal((await login(EMAIL, PASSWORD, '198.51.100.2', { deviceToken: laptop })).status, 200);
    });
  });

  describe('the login guard', function () {
    const ips = (count: number) => Array.from({ length: count }, (_, i) => `203.0.113.${i}`);

    it('grants exactly 100 of 200 simultaneous attempts on one account from 20 addresses', async function () {
      const guard = createLoginGuard(memoryStore());
      const attempts = await Promise.allSettled(ips(20).flatMap((ip) => Array.from({ length: 10 }, () => guard.begin({ email: EMAIL, ip }))));
      assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 100);
      assert.ok(attempts.every((a) => a.status === 'fulfilled' || a.reason instanceof RateLimitedError));
    });

    it('refuses an IP after 100 failures in a day, whatever the emails', async function () {
      const guard = createLoginGuard(memoryStore());
      for (let i = 0; i < 100; i += 1) await guard.begin({ email: `user${i}@example.com`, ip: '203.0.113.7' });
      await assert.rejects(guard.begin({ email: 'fresh@example.com', ip: '203.0.113.7' }), (error: unknown) => {
        assert.ok(error instanceof RateLimitedError);
        assert.ok(Number(headersFor(error)['Retry-After']) > 23 * 3600);
        return true;
      });
      await guard.begin({ email: 'fresh@example.com', ip: '198.51.100.1' });
    });

    it('refuses unknown devices after 100 failures on an account in an hour, and still admits a known one', async function () {
      const guard = createLoginGuard(memoryStore());
      for (const ip of ips(100)) await guard.begin({ email: EMAIL, ip });
      await assert.rejects(guard.begin({ email: EMAIL, ip: '198.51.100.1' }), RateLimitedError);
      await guard.begin({ email: EMAIL, ip: '198.51.100.1', device: 'owners-phone-device-id' });
      await guard.begin({ email: 'bob@example.com', ip: '198.51.100.1' });
    });

    it('gives back what a right password reserved, and what a fault left unjudged', async function () {
      const guard = createLoginGuard(memoryStore());
      for (const ip of ips(99)) await guard.begin({ email: EMAIL, ip });
      const right: Attempt = await guard.begin({ email: EMAIL, ip: '198.51.100.1' });
      await right.succeeded();
      const unjudged = await guard.begin({ email: EMAIL, ip: '198.51.100.2' });
      await unjudged.release();
      await guard.begin({ email: EMAIL, ip: '198.51.100.3' });
      await assert.rejects(guard.begin({ email: EMAIL, ip: '198.51.100.4' }), RateLimitedError, 'the 100th failure counts');
    });

    it('gives back the points a refused attempt took on its other counters', async function () {
      const guard = createLoginGuard(memoryStore());
      for (let i = 0; i < 10; i += 1) await guard.begin({ email: EMAIL, ip: '203.0.113.1' });
      for (let i = 0; i < 20; i += 1) await assert.rejects(guard.begin({ email: EMAIL, ip: '203.0.113.1' }), RateLimitedError);
      // The pair refused those 20: they did not count against the address's 100 a day.
      for (let i = 0; i < 90; i += 1) await guard.begin({ email: `user${i}@example.com`, ip: '203.0.113.1' });
      await assert.rejects(guard.begin({ email: 'one-more@example.com', ip: '203.0.113.1' }), RateLimitedError);
    });
  });

  describe('the MFA guard', function () {
    it('grants 10 of 30 simultaneous code attempts on one account, whatever the challenges and addresses', async function () {
      const guard = createMfaGuard(memoryStore());
      const attempts = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => guard.begin({ uid: 'alice-uid', ip: `203.0.113.${i}` })));
      assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 10);
      await guard.begin({ uid: 'bob-uid', ip: '198.51.100.1' });
    });
  });

  describe('second factors over HTTP', function () {
    let api: TestApi;
    let secret: string;

    const STEP_MS = 30_000;

    beforeEach(async function () {
      // Start far from a step's end, so the right code stays right through the spec.
      const left = STEP_MS - (Date.now() % STEP_MS);
      if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
      api = await startApi({ TRUSTED_PROXY_HOPS: '1' });
      await registerVerified(api, EMAIL, PASSWORD);
      const token = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json.accessToken;
      secret = (await api.request('POST', '/auth/mfa/enroll', { token })).json.secret;
      const activated = await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(secret, Date.now() - STEP_MS) } });
      assert.equal(activated.status, 200, activated.text);
    });

    afterEach(async function () {
      await api.close();
    });

    const challenge = async (from: string) => {
      const response = await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD }, headers: { 'x-forwarded-for': from } });
      assert.equal(response.json.mfaRequired, true, response.text);
      return response.json.challenge as string;
    };
    const verify = (challengeValue: string, code: string, from: string) =>
      api.request('POST', '/auth/mfa/verify', { body: { challenge: challengeValue, code }, headers: { 'x-forwarded-for': from } });
    const wrongCode = () => (currentCode(secret) === '000000' ? '111111' : '000000');

    it('refuses the right code after 10 wrong ones on the account, however many fresh challenges the password buys', async function () {
      for (let round = 0; round < 2; round += 1) {
        const pending = await challenge(`203.0.113.${round}`);
        for (let i = 0; i < 5; i += 1) assert.equal((await verify(pending, wrongCode(), `203.0.113.${round}`)).status, 401);
      }
      const fresh = await challenge('198.51.100.7');
      const refused = await verify(fresh, currentCode(secret), '198.51.100.7');
      assert.equal(refused.status, 429, refused.text);
      assert.ok(Number(refused.headers['retry-after']) > 3000);
    });

    it('evaluates at most 10 of 30 simultaneous wrong codes spread over three challenges', async function () {
      const pending = [await challenge('203.0.113.1'), await challenge('203.0.113.2'), await challenge('203.0.113.3')];
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => verify(pending[i % 3]!, wrongCode(), `198.51.100.${i}`)));
      const wrong = burst.filter((r) => r.status === 401 && r.json.error.code === 'invalid_mfa_code').length;
      assert.ok(wrong <= 10, `${wrong} codes judged`);
      // A 503 is a store too busy to count the guess (Firestore under contention): never judged.
      assert.ok(
        burst.every((r) => r.status === 401 || r.status === 429 || (r.status === 503 && r.headers['retry-after'])),
        JSON.stringify(statuses(burst)),
      );
    });

    it('counts wrong codes at /auth/mfa/disable against the same budget', async function () {
      const session = await api.request('POST', '/auth/mfa/verify', { body: { challenge: await challenge('203.0.113.1'), code: currentCode(secret) } });
      const token = session.json.accessToken as string;
      for (let i = 0; i < 10; i += 1) assert.equal((await api.request('POST', '/auth/mfa/disable', { token, body: { code: wrongCode() } })).status, 401);
      const refused = await api.request('POST', '/auth/mfa/disable', { token, body: { code: currentCode(secret, Date.now() + STEP_MS) } });
      assert.equal(refused.status, 429, refused.text);
    });
  });
});
