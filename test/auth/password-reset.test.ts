/**
 * Password reset, over real HTTP with the mail read back from the outbox: asking answers the
 * same for any address and mails a link only to an account, within per-address and per-IP
 * limits; the link works once, for 30 minutes, is stored only as a hash; the new password
 * meets the policy, every session of the account ends, its owner is told; and an account with
 * MFA resets only with a current code or a recovery code, counted by the MFA guessing limits.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { lastMailTo, linkToken, mailsTo, registerVerified } from '../support/outbox.ts';
import { currentCode } from '../support/totp.ts';

const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'an entirely different passphrase';
const RESET_SUBJECT = 'Reset your password';

describe('password reset (auth/password-reset.ts)', function () {
  let api: TestApi;

  beforeEach(async function () {
    // Each request names its client address, as Hosting's X-Forwarded-For does.
    api = await startApi({ APP_URL: 'https://app.example.com', TRUSTED_PROXY_HOPS: '1' });
  });

  afterEach(async function () {
    await api.close();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const forgot = (email = EMAIL, ip = '198.51.100.1') => api.request('POST', '/auth/password/forgot', { body: { email }, headers: from(ip) });
  const reset = (body: Record<string, unknown>, ip = '198.51.100.1') => api.request('POST', '/auth/password/reset', { body, headers: from(ip) });
  const login = (password: string) => api.request('POST', '/auth/login', { body: { email: EMAIL, password }, headers: from('198.51.100.1') });
  const resetToken = async () => linkToken(await lastMailTo(api.outbox, EMAIL, RESET_SUBJECT), 'reset-password');

  describe('POST /auth/password/forgot', function () {
    it('answers an address with an account and one without alike, and mails a link only to the account', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      const known = await forgot();
      const unknown = await forgot('nobody@example.com');
      const names = (response: Response) =>
        Object.keys(response.headers)
          .filter((name) => !['date', 'x-request-id'].includes(name))
          .sort();
      assert.equal(known.status, 202);
      assert.equal(unknown.status, 202);
      assert.deepEqual(Object.keys(known.json), Object.keys(unknown.json));
      assert.deepEqual(names(known), names(unknown));
      const mail = await lastMailTo(api.outbox, EMAIL, RESET_SUBJECT);
      assert.match(mail.text ?? '', /https:\/\/app\.example\.com\/#\/reset-password\?token=[A-Za-z0-9_-]{43}/);
      assert.deepEqual(await mailsTo(api.outbox, 'nobody@example.com'), []);
    });

    it('takes about as long for an address without an account (ratio of medians within 0.5-2)', async function () {
      this.timeout(60_000);
      await registerVerified(api, EMAIL, PASSWORD);
      const median = async (email: string, ip: string) => {
        const times: number[] = [];
        for (let i = 0; i < 3; i += 1) {
          const started = performance.now();
          assert.equal((await forgot(email, ip)).status, 202);
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b)[1]!;
      };
      const ratio = (await median('nobody@example.com', '198.51.100.2')) / (await median(EMAIL, '198.51.100.3'));
      assert.ok(ratio > 0.5 && ratio < 2, `unknown/known = ${ratio.toFixed(2)}`);
    });

    it('limits asks per address (5 mails an hour, whether or not it has an account) and per IP (20 an hour), with 429 and Retry-After', async function () {
      await registerVerified(api, EMAIL, PASSWORD); // its confirmation was the address's first mail
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await forgot(EMAIL, `203.0.113.${i + 1}`)).status);
      assert.deepEqual(statuses, [202, 202, 202, 202, 429]);
      const stranger = [];
      for (let i = 0; i < 6; i += 1) stranger.push((await forgot('nobody@example.com', `203.0.113.${i + 10}`)).status);
      assert.deepEqual(stranger, [202, 202, 202, 202, 202, 429], 'an address without an account is counted alike');
      const oneClient = [];
      for (let i = 0; i < 21; i += 1) oneClient.push((await forgot(`someone-${i}@example.com`, '192.0.2.50')).status);
      assert.deepEqual(oneClient, [...Array(20).fill(202), 429]);
      const limited = await forgot('someone-else@example.com', '192.0.2.50');
      assert.ok(Number(limited.headers['retry-after']) > 0);
    });
  });

  describe('POST /auth/password/reset', function () {
    it('sets a password that meets the policy, ends every session, tells the owner, and works once', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      const session = (await login(PASSWORD)).json;
      await forgot();
      const token = await resetToken();
      const weak = await reset({ token, password: 'password1234' });
      assert.equal(weak.status, 400);
      assert.equal(weak.json.error.code, 'weak_password');

      const done = await reset({ token, password: NEW_PASSWORD });
      assert.equal(done.status, 200, done.text);
      assert.equal(done.json.user.email, EMAIL);
      assert.equal((await login(PASSWORD)).status, 401, 'the old password is gone');
      assert.equal((await login(NEW_PASSWORD)).status, 200);
      const refreshed = await api.request('POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } });
      assert.equal(refreshed.status, 401, 'the session from before the reset has ended');
      await lastMailTo(api.outbox, EMAIL, 'Your password was changed');

      const again = await reset({ token, password: 'yet another fine passphrase' });
      assert.equal(again.status, 400);
      assert.equal(again.json.error.code, 'reset_link_invalid');
    });

    it('lets one of two resets racing with the same link through, and refuses the other', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      await forgot();
      const token = await resetToken();
      const answers = await Promise.all([reset({ token, password: NEW_PASSWORD }), reset({ token, password: 'yet another fine passphrase' })]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 400], answers.map((answer) => answer.text).join('\n'));
      const won = answers[0].status === 200 ? NEW_PASSWORD : 'yet another fine passphrase';
      assert.equal((await login(won)).status, 200, 'the password of the reset that went through');
    });

    it('keeps only a hash of the link, which expires', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      await forgot();
      const token = await resetToken();
      const id = createHash('sha256').update(token).digest('hex');
      const stored = await api.store.get<{ expiresAt: number }>('passwordResets', id);
      assert.ok(stored, 'stored under its hash');
      assert.ok(!JSON.stringify(stored).includes(token));
      const minutes = (stored.expiresAt - Date.now()) / 60_000;
      assert.ok(minutes > 29 && minutes <= 30, `${minutes} minutes`);
      assert.ok(!api.logText().includes(token), 'the link is in no log line');
      await api.store.update('passwordResets', id, { expiresAt: Date.now() - 1 });
      assert.equal((await reset({ token, password: NEW_PASSWORD })).json.error.code, 'reset_link_invalid');
      assert.equal((await login(PASSWORD)).status, 200, 'nothing changed');
    });

    it('does not undo MFA: an account with it resets only with a current code or a recovery code, and wrong codes are counted', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      const { accessToken } = (await login(PASSWORD)).json;
      const secret = (await api.request('POST', '/auth/mfa/enroll', { token: accessToken })).json.secret as string;
      const activated = await api.request('POST', '/auth/mfa/activate', { token: accessToken, body: { code: currentCode(secret) } });
      assert.equal(activated.status, 200, activated.text);
      await forgot();
      const token = await resetToken();

      const bare = await reset({ token, password: NEW_PASSWORD });
      assert.equal(bare.status, 401);
      assert.equal(bare.json.error.code, 'mfa_code_required');
      const wrong = await reset({ token, password: NEW_PASSWORD, code: '000000' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json.error.code, 'invalid_mfa_code');
      assert.equal((await login(PASSWORD)).json.mfaRequired, true, 'the password is unchanged, and the link still works');

      const done = await reset({ token, password: NEW_PASSWORD, recoveryCode: activated.json.recoveryCodes[0] });
      assert.equal(done.status, 200, done.text);
      const challenge = (await login(NEW_PASSWORD)).json;
      assert.equal(challenge.mfaRequired, true, 'MFA stays on');
      const spent = await api.request('POST', '/auth/mfa/verify', { body: { challenge: challenge.challenge, recoveryCode: activated.json.recoveryCodes[0] } });
      assert.equal(spent.status, 401, 'the recovery code the reset used is spent');
    });

    it('refuses wrong codes beyond the MFA guessing limit with 429, even with the link', async function () {
      await registerVerified(api, EMAIL, PASSWORD);
      const { accessToken } = (await login(PASSWORD)).json;
      const secret = (await api.request('POST', '/auth/mfa/enroll', { token: accessToken })).json.secret as string;
      await api.request('POST', '/auth/mfa/activate', { token: accessToken, body: { code: currentCode(secret) } });
      await forgot();
      const token = await resetToken();
      const statuses = [];
      for (let i = 0; i < 11; i += 1) statuses.push((await reset({ token, password: NEW_PASSWORD, code: String(100000 + i) })).status);
      assert.deepEqual(statuses, [...Array(10).fill(401), 429], 'ten wrong codes an hour for the account, as at sign-in');
    });

    it('refuses an unknown link before judging anything', async function () {
      const response = await reset({ token: 'A'.repeat(43), password: 'password1234' });
      assert.equal(response.status, 400);
      assert.equal(response.json.error.code, 'reset_link_invalid');
    });
  });
});
