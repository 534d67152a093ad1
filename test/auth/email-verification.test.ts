/**
 * Confirming an address, over real HTTP with the mail read back from the outbox: registration
 * answers the same whether or not the address has an account (status, body, headers, and
 * about the time) and mails a link or a notice; an unverified account may sign in and read but
 * not write until it follows the link; the link works once, is stored only as a hash, and
 * expires; another one can be asked for, within the mail limits.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { lastMailTo, linkToken, mailsTo, VERIFY_SUBJECT } from '../support/outbox.ts';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const NOTICE_SUBJECT = 'Someone tried to create an account with your address';

describe('email verification (auth/email-verification.ts)', function () {
  let api: TestApi;

  beforeEach(async function () {
    api = await startApi({ APP_URL: 'https://app.example.com' });
  });

  afterEach(async function () {
    await api.close();
  });

  const register = (email = EMAIL, password = PASSWORD) => api.request('POST', '/auth/register', { body: { email, password } });
  const login = async (email = EMAIL, password = PASSWORD) => {
    const response = await api.request('POST', '/auth/login', { body: { email, password } });
    assert.equal(response.status, 200, response.text);
    return response.json as { accessToken: string; refreshToken: string; user: { emailVerified: boolean } };
  };
  const verify = (token: string) => api.request('POST', '/auth/verify-email', { body: { token } });
  const confirmationToken = async (email = EMAIL) => linkToken(await lastMailTo(api.outbox, email, VERIFY_SUBJECT), 'verify-email');

  describe('POST /auth/register', function () {
    it('answers a new address and one that has an account alike: status, body and headers', async function () {
      const first = await register();
      const again = await register(EMAIL, 'another strong passphrase here');
      const names = (response: Response) =>
        Object.keys(response.headers)
          .filter((name) => !['date', 'x-request-id', 'ratelimit', 'ratelimit-policy'].includes(name))
          .sort();
      assert.equal(first.status, 202);
      assert.equal(again.status, 202);
      assert.deepEqual(again.json, first.json);
      assert.deepEqual(names(again), names(first));
    });

    it('mails a new account its confirmation link, built on APP_URL, and the owner of an existing one a notice instead', async function () {
      await register();
      const confirmation = await lastMailTo(api.outbox, EMAIL, VERIFY_SUBJECT);
      assert.match(confirmation.text ?? '', /https:\/\/app\.example\.com\/#\/verify-email\?token=[A-Za-z0-9_-]{43}/);
      assert.match(String(confirmation.html), /href="https:\/\/app\.example\.com\/#\/verify-email\?token=/);
      await register(EMAIL, 'another strong passphrase here');
      const notice = await lastMailTo(api.outbox, EMAIL, NOTICE_SUBJECT);
      assert.match(notice.text ?? '', /https:\/\/app\.example\.com\/#\/login/);
      assert.doesNotMatch(notice.text ?? '', /token=/, 'the notice carries no link that acts');
      assert.equal((await mailsTo(api.outbox, EMAIL)).length, 2);
    });

    it('takes about as long for an address with an account as for a new one (ratio of medians within 0.5-2)', async function () {
      this.timeout(120_000);
      const median = async (email: (i: number) => string) => {
        const times: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          const started = performance.now();
          assert.equal((await register(email(i))).status, 202);
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b)[2]!;
      };
      await register('warmup@example.com');
      const ratio = (await median(() => 'warmup@example.com')) / (await median((i) => `new-${i}@example.com`));
      assert.ok(ratio > 0.5 && ratio < 2, `existing/new = ${ratio.toFixed(2)}`);
    });

    it('mails one address at most 5 times an hour, however often it is registered, and answers the same throughout', async function () {
      for (let i = 0; i < 8; i += 1) assert.equal((await register()).status, 202);
      assert.equal((await mailsTo(api.outbox, EMAIL)).length, 5);
      assert.ok(api.logs.some((line) => line.event === 'mail.limited'));
    });
  });

  describe('an account that has not confirmed its address', function () {
    it('signs in and reads, but may not write, until it follows the link; the next refresh says so', async function () {
      await register();
      const session = await login();
      assert.equal(session.user.emailVerified, false);
      assert.equal(decodeJwt(session.accessToken).email_verified, false);
      assert.equal((await api.request('GET', '/items', { token: session.accessToken })).status, 200);
      const me = await api.request('GET', '/auth/me', { token: session.accessToken });
      assert.equal(me.json.user.emailVerified, false);
      const refused = await api.request('POST', '/items', { token: session.accessToken, body: { name: 'Lamp', description: 'Warm light' } });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, 'email_not_verified');

      const verified = await verify(await confirmationToken());
      assert.equal(verified.status, 200, verified.text);
      assert.equal(verified.json.user.emailVerified, true);
      const renewed = await api.request('POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } });
      assert.equal(renewed.status, 200);
      assert.equal(decodeJwt(renewed.json.accessToken).email_verified, true);
      assert.equal((await api.request('POST', '/items', { token: renewed.json.accessToken, body: { name: 'Lamp', description: 'Warm light' } })).status, 201);
    });
  });

  describe('POST /auth/verify-email', function () {
    it('works once: the same link again, or an unknown one, is refused, and keeps no token in the store or the logs', async function () {
      await register();
      const token = await confirmationToken();
      const links = await api.store.query('emailVerifications', { limit: 10 });
      assert.deepEqual(
        links.documents.map((document) => document.id),
        [createHash('sha256').update(token).digest('hex')],
      );
      assert.ok(!JSON.stringify(links.documents).includes(token));
      assert.equal((await verify(token)).status, 200);
      for (const used of [token, 'A'.repeat(43)]) {
        const again = await verify(used);
        assert.equal(again.status, 400);
        assert.equal(again.json.error.code, 'verification_link_invalid');
      }
      assert.equal((await api.store.query('emailVerifications', { limit: 10 })).documents.length, 0);
      assert.ok(!api.logText().includes(token), 'the link is in no log line');
    });

    it('spends a link once when two requests race with it: one confirms, the other is refused', async function () {
      await register();
      const token = await confirmationToken();
      const answers = await Promise.all([verify(token), verify(token)]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400], answers.map((answer) => answer.text).join('\n'));
    });

    it('refuses an expired link', async function () {
      await register();
      const token = await confirmationToken();
      const id = createHash('sha256').update(token).digest('hex');
      // The link's day has passed (the stores hide what has expired, as Firestore's TTL removes it).
      await api.store.update('emailVerifications', id, { expiresAt: Date.now() - 1 });
      assert.equal((await verify(token)).json.error.code, 'verification_link_invalid');
      assert.equal((await login()).user.emailVerified, false);
    });

    it('refuses a link for an address the account no longer has', async function () {
      await register();
      const token = await confirmationToken();
      const { id } = (await api.store.query('users', { limit: 1 })).documents[0]!;
      await api.store.update('users', id, { email: 'ada.new@example.com' });
      assert.equal((await verify(token)).json.error.code, 'verification_link_invalid');
      assert.equal((await api.store.get<{ emailVerifiedAt: string | null }>('users', id))?.emailVerifiedAt, null);
    });

    it('refuses what is not a token', async function () {
      const response = await verify('not a token');
      assert.equal(response.status, 400);
      assert.equal(response.json.error.code, 'validation_failed');
    });
  });

  describe('POST /auth/verify-email/resend', function () {
    it('mails the signed-in account a new link that works, while the address has mail left this hour (5), then 429 with Retry-After', async function () {
      await register();
      const { accessToken } = await login();
      const resend = () => api.request('POST', '/auth/verify-email/resend', { token: accessToken });
      for (let i = 0; i < 4; i += 1) {
        const response = await resend();
        assert.equal(response.status, 202, response.text);
        assert.deepEqual(response.json, { email: EMAIL });
      }
      const limited = await resend();
      assert.equal(limited.status, 429);
      assert.equal(limited.json.error.code, 'rate_limited');
      assert.ok(Number(limited.headers['retry-after']) > 0);
      const confirmations = (await mailsTo(api.outbox, EMAIL)).filter((mail) => mail.subject === VERIFY_SUBJECT);
      assert.equal(confirmations.length, 5);
      // Each link is its own: the newest works.
      assert.equal((await verify(linkToken(confirmations.at(-1)!, 'verify-email'))).status, 200);
    });

    it('answers 409 for an address already confirmed, and 401 without a token', async function () {
      await register();
      await verify(await confirmationToken());
      const { accessToken } = await login();
      const response = await api.request('POST', '/auth/verify-email/resend', { token: accessToken });
      assert.equal(response.status, 409);
      assert.equal(response.json.error.code, 'email_already_verified');
      assert.equal((await api.request('POST', '/auth/verify-email/resend')).status, 401);
    });
  });
});
