/**
 * Changing the password and the address of a signed-in account, over real HTTP with the mail
 * read back from the outbox: each needs the current password (counted like sign-in guesses) or
 * an MFA sign-in of the last 5 minutes; a new password meets the policy and ends every other
 * session; a new address is confirmed from a link mailed there, answered alike whether or not
 * it has an account, and the old address is told.
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { lastMailTo, linkToken, mailsTo, registerVerified } from '../support/outbox.ts';
import { currentCode } from '../support/totp.ts';

const EMAIL = 'edsger@example.com';
const NEW_EMAIL = 'edsger.new@example.com';
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'an entirely different passphrase';

describe('changing the password and the address (auth/handlers.ts, auth/email-change.ts)', function () {
  let api: TestApi;

  beforeEach(async function () {
    api = await startApi({ APP_URL: 'https://app.example.com', TRUSTED_PROXY_HOPS: '1' });
    await registerVerified(api, EMAIL, PASSWORD);
  });

  afterEach(async function () {
    await api.close();
  });

  const headers = { 'x-forwarded-for': '198.51.100.7' };
  const login = (email = EMAIL, password = PASSWORD) => api.request('POST', '/auth/login', { body: { email, password }, headers });
  const session = async () => {
    const response = await login();
    assert.equal(response.status, 200, response.text);
    return response.json as { accessToken: string; refreshToken: string };
  };
  const post = (path: string, token: string, body: unknown) => api.request('POST', path, { token, body, headers });

  describe('POST /auth/password/change', function () {
    it('sets a new password with the current one, ends every other session but this one, and tells the owner', async function () {
      const other = await session();
      const mine = await session();
      const changed = await post('/auth/password/change', mine.accessToken, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
      assert.equal(changed.status, 200, changed.text);
      assert.equal((await login(EMAIL, PASSWORD)).status, 401);
      assert.equal((await login(EMAIL, NEW_PASSWORD)).status, 200);
      assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken: other.refreshToken } })).status, 401, 'the other session ended');
      assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken: mine.refreshToken } })).status, 200, 'this one goes on');
      await lastMailTo(api.outbox, EMAIL, 'Your password was changed');
    });

    it('refuses without the current password, with a wrong one (counted: the 11th in an hour is 429), and a weak new one', async function () {
      const { accessToken } = await session();
      const bare = await post('/auth/password/change', accessToken, { newPassword: NEW_PASSWORD });
      assert.equal(bare.status, 403);
      assert.equal(bare.json.error.code, 'reauthentication_required');
      const weak = await post('/auth/password/change', accessToken, { currentPassword: PASSWORD, newPassword: 'password1234' });
      assert.equal(weak.json.error.code, 'weak_password');
      const statuses = [];
      for (let i = 0; i < 11; i += 1)
        statuses.push((await post('/auth/password/change', accessToken, { currentPassword: `wrong password ${i}`, newPassword: NEW_PASSWORD })).status);
      assert.deepEqual(statuses, [...Array(10).fill(403), 429]);
      assert.equal((await login(EMAIL, PASSWORD)).status, 429, 'the same counter as sign-in from this address');
    });

    it('takes an MFA sign-in of the last 5 minutes instead of the current password', async function () {
      const { accessToken } = await session();
      const secret = (await api.request('POST', '/auth/mfa/enroll', { token: accessToken })).json.secret as string;
      await api.request('POST', '/auth/mfa/activate', { token: accessToken, body: { code: currentCode(secret) } });
      const challenge = (await login()).json.challenge as string;
      const verified = await api.request('POST', '/auth/mfa/verify', { body: { challenge, code: currentCode(secret, Date.now() + 30_000) } });
      assert.equal(verified.status, 200, verified.text);
      const changed = await post('/auth/password/change', verified.json.accessToken, { newPassword: NEW_PASSWORD });
      assert.equal(changed.status, 200, changed.text);
    });
  });

  describe('POST /auth/email/change, then /auth/email/confirm', function () {
    it('moves the account once the new address confirms, verified, and tells the old address', async function () {
      const { accessToken } = await session();
      const asked = await post('/auth/email/change', accessToken, { newEmail: NEW_EMAIL, currentPassword: PASSWORD });
      assert.equal(asked.status, 202, asked.text);
      assert.equal((await api.request('GET', '/auth/me', { token: accessToken })).json.user.email, EMAIL, 'nothing moves before the link');
      const token = linkToken(await lastMailTo(api.outbox, NEW_EMAIL, 'Confirm your new email address'), 'confirm-email');
      const confirmed = await api.request('POST', '/auth/email/confirm', { body: { token } });
      assert.equal(confirmed.status, 200, confirmed.text);
      assert.deepEqual([confirmed.json.user.email, confirmed.json.user.emailVerified], [NEW_EMAIL, true]);
      assert.equal((await login(NEW_EMAIL, PASSWORD)).status, 200);
      assert.equal((await login(EMAIL, PASSWORD)).status, 401, 'the old address signs in no more');
      const notice = await lastMailTo(api.outbox, EMAIL, 'The email address of your account was changed');
      assert.match(notice.text ?? '', new RegExp(NEW_EMAIL.replace('.', '\\.')));
      const again = await api.request('POST', '/auth/email/confirm', { body: { token } });
      assert.equal(again.json.error.code, 'email_change_link_invalid', 'the link works once');
    });

    it('answers alike for a new address that has an account, and mails its owner a notice, changing nothing', async function () {
      await registerVerified(api, NEW_EMAIL, PASSWORD);
      const { accessToken } = await session();
      const asked = await post('/auth/email/change', accessToken, { newEmail: NEW_EMAIL, currentPassword: PASSWORD });
      assert.equal(asked.status, 202);
      assert.deepEqual(asked.json, { accepted: true, email: NEW_EMAIL });
      const notice = await lastMailTo(api.outbox, NEW_EMAIL, 'Someone tried to move an account to your address');
      assert.doesNotMatch(notice.text ?? '', /token=/);
      assert.equal((await api.request('GET', '/auth/me', { token: accessToken })).json.user.email, EMAIL);
    });

    it('refuses the link when the new address was taken meanwhile, or the account changed address since', async function () {
      const { accessToken } = await session();
      await post('/auth/email/change', accessToken, { newEmail: NEW_EMAIL, currentPassword: PASSWORD });
      const token = linkToken(await lastMailTo(api.outbox, NEW_EMAIL, 'Confirm your new email address'), 'confirm-email');
      await registerVerified(api, NEW_EMAIL, PASSWORD);
      const taken = await api.request('POST', '/auth/email/confirm', { body: { token } });
      assert.equal(taken.status, 409);
      assert.equal(taken.json.error.code, 'email_taken');
      assert.equal((await api.request('GET', '/auth/me', { token: accessToken })).json.user.email, EMAIL);

      // Two asks; the second is followed first: the first link is for an address the account no longer has.
      const first = 'edsger.one@example.com';
      const second = 'edsger.two@example.com';
      await post('/auth/email/change', accessToken, { newEmail: first, currentPassword: PASSWORD });
      await post('/auth/email/change', accessToken, { newEmail: second, currentPassword: PASSWORD });
      const firstToken = linkToken(await lastMailTo(api.outbox, first, 'Confirm your new email address'), 'confirm-email');
      const secondToken = linkToken(await lastMailTo(api.outbox, second, 'Confirm your new email address'), 'confirm-email');
      assert.equal((await api.request('POST', '/auth/email/confirm', { body: { token: secondToken } })).status, 200);
      const stale = await api.request('POST', '/auth/email/confirm', { body: { token: firstToken } });
      assert.equal(stale.json.error.code, 'email_change_link_invalid');
      assert.equal((await api.request('GET', '/auth/me', { token: accessToken })).json.user.email, second);
    });

    it('needs the current password, refuses the address it already has, and lets an unconfirmed account correct a mistyped address', async function () {
      const { accessToken } = await session();
      assert.equal((await post('/auth/email/change', accessToken, { newEmail: NEW_EMAIL })).json.error.code, 'reauthentication_required');
      assert.equal((await post('/auth/email/change', accessToken, { newEmail: NEW_EMAIL, currentPassword: 'not it at all' })).json.error.code, 'current_password_wrong');
      assert.equal((await post('/auth/email/change', accessToken, { newEmail: EMAIL, currentPassword: PASSWORD })).json.error.code, 'email_unchanged');
      assert.deepEqual(await mailsTo(api.outbox, NEW_EMAIL), []);

      const typo = 'ada@exmaple.com';
      assert.equal((await api.request('POST', '/auth/register', { body: { email: typo, password: PASSWORD } })).status, 202);
      const unconfirmed = (await login(typo, PASSWORD)).json.accessToken as string;
      const fixed = await post('/auth/email/change', unconfirmed, { newEmail: 'ada@example.com', currentPassword: PASSWORD });
      assert.equal(fixed.status, 202, fixed.text);
      const token = linkToken(await lastMailTo(api.outbox, 'ada@example.com', 'Confirm your new email address'), 'confirm-email');
      const confirmed = await api.request('POST', '/auth/email/confirm', { body: { token } });
      assert.deepEqual([confirmed.json.user.email, confirmed.json.user.emailVerified], ['ada@example.com', true]);
    });
  });
});
