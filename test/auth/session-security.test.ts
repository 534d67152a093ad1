/**
 * What a session may do and how it ends, beyond plain rotation:
 *   - changing how the account signs in (MFA on or off) needs a sign-in of the last 5 minutes,
 *     and ends the account's other sessions; a session from before MFA was turned on stops
 *     refreshing;
 *   - two tabs refreshing one token at once both get the same successor, and the session lives
 *     on; a reuse after the interval is still a theft;
 *   - GET /auth/session answers `session: true` only for a cookie whose session is live.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { newTotpSecret } from '../../functions/src/auth/mfa.ts';
import { currentCode } from '../support/totp.ts';
import { ALLOWED_ORIGIN, startApi, type Response, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;

describe('session security', function () {
  this.timeout(30_000);
  let api: TestApi;

  afterEach(async function () {
    await api.close();
  });

  async function start(env: Record<string, string> = {}): Promise<void> {
    api = await startApi(env);
    await registerVerified(api, EMAIL, PASSWORD);
  }

  async function login(): Promise<{ accessToken: string; refreshToken: string; uid: string }> {
    const response = await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } });
    assert.equal(response.status, 200, response.text);
    return { accessToken: response.json.accessToken, refreshToken: response.json.refreshToken, uid: response.json.user.id };
  }

  const refresh = (refreshToken: string) => api.request('POST', '/auth/refresh', { body: { refreshToken } });

  describe('changing how the account signs in', function () {
    beforeEach(async function () {
      const left = STEP_MS - (Date.now() % STEP_MS);
      if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
      await start();
    });

    async function enableMfa(accessToken: string): Promise<string> {
      const enrolled = await api.request('POST', '/auth/mfa/enroll', { token: accessToken });
      assert.equal(enrolled.status, 200, enrolled.text);
      const activated = await api.request('POST', '/auth/mfa/activate', { token: accessToken, body: { code: currentCode(enrolled.json.secret, Date.now() - STEP_MS) } });
      assert.equal(activated.status, 200, activated.text);
      return enrolled.json.secret;
    }

    it('refuses enroll, activate and disable with a token whose sign-in is older than 5 minutes: 403 recent_sign_in_required', async function () {
      const { uid } = await login();
      const stale = await api.token({ sub: uid, authTime: Math.floor(Date.now() / 1000) - 6 * 60 });
      const answers: Response[] = [
        await api.request('POST', '/auth/mfa/enroll', { token: stale }),
        await api.request('POST', '/auth/mfa/activate', { token: stale, body: { code: '123456' } }),
        await api.request('POST', '/auth/mfa/disable', { token: stale, body: { code: '123456' } }),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 403, answer.text);
        assert.equal(answer.json.error.code, 'recent_sign_in_required');
      }
      const user = await api.store.get('users', uid);
      assert.equal(user?.mfaPending, null, 'nothing was enrolled');
    });

    it('ends every other session when MFA goes on, and the enrolling session carries on with amr pwd+mfa', async function () {
      const other = await login();
      const current = await login();
      await enableMfa(current.accessToken);
      const otherRefresh = await refresh(other.refreshToken);
      assert.equal(otherRefresh.status, 401, 'the other session has ended');
      const carriedOn = await refresh(current.refreshToken);
      assert.equal(carriedOn.status, 200, carriedOn.text);
      assert.deepEqual(decodeJwt(carriedOn.json.accessToken).amr, ['pwd', 'mfa']);
      assert.ok(api.logs.some((line) => line.event === 'mfa.enabled' && line.sessionsEnded === 1));
    });

    it('ends every other session when MFA goes off', async function () {
      const first = await login();
      const secret = await enableMfa(first.accessToken);
      const challenge = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json.challenge;
      const second = await api.request('POST', '/auth/mfa/verify', { body: { challenge, code: currentCode(secret) } });
      assert.equal(second.status, 200, second.text);
      const disabled = await api.request('POST', '/auth/mfa/disable', { token: second.json.accessToken, body: { code: currentCode(secret, Date.now() + STEP_MS) } });
      assert.equal(disabled.status, 200, disabled.text);
      assert.equal((await refresh(first.refreshToken)).status, 401);
      assert.equal((await refresh(second.json.refreshToken)).status, 200);
    });

    it('stops a password-only session from refreshing once the account has MFA, however it was turned on', async function () {
      const { refreshToken, uid } = await login();
      // Turned on elsewhere (another instance, an admin tool): this session never showed a second factor.
      await api.store.update('users', uid, { mfa: { secret: newTotpSecret(), enabledAt: new Date().toISOString(), lastStep: 0, recoveryCodes: [] } });
      const refused = await refresh(refreshToken);
      assert.equal(refused.status, 401);
      assert.equal(refused.json.error.code, 'invalid_refresh_token');
      assert.ok(api.logs.some((line) => line.event === 'session.revoked_for_mfa' && line.userId === uid));
    });
  });

  describe('two tabs refreshing at once', function () {
    it('gives both the same successor, and the session lives on', async function () {
      await start();
      const { refreshToken } = await login();
      const [one, two] = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
      assert.equal(one.status, 200, one.text);
      assert.equal(two.status, 200, two.text);
      assert.equal(one.json.refreshToken, two.json.refreshToken, 'the successor already issued');
      const next = await refresh(one.json.refreshToken);
      assert.equal(next.status, 200, 'the family was not revoked');
      assert.ok(!api.logs.some((line) => line.event === 'security.refresh_token_reuse'));
    });

    it('hands a late tab the newest token when the other tab has refreshed twice meanwhile', async function () {
      await start();
      const { refreshToken } = await login();
      const second = (await refresh(refreshToken)).json.refreshToken as string;
      const third = (await refresh(second)).json.refreshToken as string;
      const late = await refresh(refreshToken);
      assert.equal(late.status, 200, late.text);
      assert.equal(late.json.refreshToken, third);
    });

    it('still treats a reuse after the interval as a theft: 401, the family revoked, a security log line', async function () {
      await start({ AUTH_REFRESH_REUSE_SECONDS: '1' });
      const { refreshToken, uid } = await login();
      const successor = (await refresh(refreshToken)).json.refreshToken as string;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal((await refresh(refreshToken)).status, 401);
      assert.equal((await refresh(successor)).status, 401, 'the whole family ended');
      assert.ok(api.logs.some((line) => line.event === 'security.refresh_token_reuse' && line.userId === uid));
    });
  });

  describe('GET /auth/session', function () {
    beforeEach(async function () {
      await start();
    });

    async function cookieLogin(): Promise<{ cookie: string; csrfToken: string }> {
      const response = await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD, session: 'cookie' }, headers: { origin: ALLOWED_ORIGIN } });
      assert.equal(response.status, 200, response.text);
      return { cookie: response.headers['set-cookie']![0]!.split(';')[0]!, csrfToken: response.json.csrfToken };
    }

    const sessionOf = (cookie: string) => api.request('GET', '/auth/session', { headers: { cookie, origin: ALLOWED_ORIGIN } });

    it('answers true, with the CSRF token, for a live session', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const answer = await sessionOf(cookie);
      assert.deepEqual(answer.json, { session: true, csrfToken });
    });

    it('answers false, and clears the cookie, for a session that has ended', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const out = await api.request('POST', '/auth/logout', { body: {}, headers: { cookie, origin: ALLOWED_ORIGIN, 'x-csrf-token': csrfToken } });
      assert.equal(out.status, 204, out.text);
      const answer = await sessionOf(cookie);
      assert.deepEqual(answer.json, { session: false });
      assert.match(String(answer.headers['set-cookie']), /Max-Age=0/);
    });

    it('answers false for a well-formed cookie no session ever had', async function () {
      const { cookie } = await cookieLogin();
      const [name] = cookie.split('=');
      const invented = `${name}=${'A'.repeat(20)}.${'b'.repeat(43)}`;
      assert.deepEqual((await sessionOf(invented)).json, { session: false });
    });
  });
});
