/**
 * TOTP multi-factor authentication over real HTTP: enrollment (otpauth URI and QR code),
 * activation with a code (and 10 recovery codes shown once), login with a challenge completed
 * by a code or a recovery code, refusal of wrong and replayed codes, bounded attempts, and
 * turning MFA off with a current code.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { currentCode } from '../support/totp.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
const STEP_MS = 30_000;

/** Codes for the step before, the current and the next one are all valid: start far from a step's end. */
async function freshStep(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

const codeAt = (secret: string, steps: number) => currentCode(secret, Date.now() + steps * STEP_MS);

describe('MFA (TOTP)', function () {
  this.timeout(30_000);
  let api: TestApi;
  let token: string;

  beforeEach(async function () {
    await freshStep();
    api = await startApi();
    await registerVerified(api, EMAIL, PASSWORD);
    token = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json.accessToken;
  });

  afterEach(async function () {
    await api.close();
  });

  const login = () => api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } });
  const verify = (challenge: string, proof: Record<string, string>) => api.request('POST', '/auth/mfa/verify', { body: { challenge, ...proof } });

  /** Enrolls and activates with the previous step's code; returns the secret and recovery codes. */
  async function enable(): Promise<{ secret: string; recoveryCodes: string[] }> {
    const enrolled = await api.request('POST', '/auth/mfa/enroll', { token });
    assert.equal(enrolled.status, 200, enrolled.text);
    const activated = await api.request('POST', '/auth/mfa/activate', { token, body: { code: codeAt(enrolled.json.secret, -1) } });
    assert.equal(activated.status, 200, activated.text);
    return { secret: enrolled.json.secret, recoveryCodes: activated.json.recoveryCodes };
  }

  describe('enrollment', function () {
    it('hands out a fresh secret as an otpauth:// URI and a PNG QR code, and keeps MFA off until activated', async function () {
      const response = await api.request('POST', '/auth/mfa/enroll', { token });
      assert.equal(response.status, 200);
      const uri = new URL(response.json.otpauthUri);
      assert.equal(uri.protocol, 'otpauth:');
      assert.equal(uri.host, 'totp');
      assert.equal(uri.searchParams.get('secret'), response.json.secret);
      assert.equal(uri.searchParams.get('digits'), '6');
      assert.equal(uri.searchParams.get('period'), '30');
      assert.match(decodeURIComponent(uri.pathname), /alice@example\.com/);
      assert.match(response.json.secret, /^[A-Z2-7]{32}$/, '160 bits, base32');
      assert.match(response.json.qrCode, /^data:image\/png;base64,/);
      assert.equal(response.headers['cache-control'], 'private, no-store');
      assert.equal((await api.request('GET', '/auth/me', { token })).json.user.mfaEnabled, false);
      assert.equal((await login()).json.mfaRequired, undefined, 'login still needs only the password');
    });

    it('activates with a valid code and shows 10 single-use recovery codes of at least 112 bits, once', async function () {
      const { recoveryCodes } = await enable();
      assert.equal(recoveryCodes.length, 10);
      assert.equal(new Set(recoveryCodes).size, 10);
      for (const code of recoveryCodes) {
        const symbols = code.replaceAll('-', '');
        assert.match(symbols, /^[A-Z2-7]+$/);
        assert.ok(symbols.length * 5 >= 112, `${symbols.length * 5} bits`);
      }
      const stored = JSON.stringify(await api.store.query('users', { limit: 10 }));
      for (const code of recoveryCodes) assert.ok(!stored.includes(code), 'only hashes are stored');
      assert.equal((await api.request('GET', '/auth/me', { token })).json.user.mfaEnabled, true);
    });

    it('refuses activation with a wrong code, leaving MFA off', async function () {
      await api.request('POST', '/auth/mfa/enroll', { token });
      const response = await api.request('POST', '/auth/mfa/activate', { token, body: { code: '000000' } });
      assert.equal(response.status, 401);
      assert.equal(response.json.error.code, 'invalid_mfa_code');
      assert.equal((await api.request('GET', '/auth/me', { token })).json.user.mfaEnabled, false);
    });

    it('refuses activation before enrollment, and a second enrollment while on', async function () {
      const early = await api.request('POST', '/auth/mfa/activate', { token, body: { code: '123456' } });
      assert.equal(early.json.error.code, 'mfa_not_enrolled');
      await enable();
      assert.equal((await api.request('POST', '/auth/mfa/enroll', { token })).json.error.code, 'mfa_already_enabled');
    });

    it('refuses codes that are not six digits', async function () {
      for (const code of ['12345', '1234567', 'abcdef', ' 123456']) {
        assert.equal((await api.request('POST', '/auth/mfa/activate', { token, body: { code } })).status, 400, code);
      }
    });
  });

  describe('login with MFA on', function () {
    it('answers mfaRequired with a short-lived challenge instead of tokens, then a code completes it (amr pwd+mfa)', async function () {
      const { secret } = await enable();
      const first = await login();
      assert.equal(first.status, 200);
      assert.equal(first.json.mfaRequired, true);
      assert.equal(first.json.expiresIn, 300);
      assert.equal(first.json.accessToken, undefined);
      assert.equal(first.json.refreshToken, undefined);
      const done = await verify(first.json.challenge, { code: codeAt(secret, 0) });
      assert.equal(done.status, 200, done.text);
      assert.deepEqual(decodeJwt(done.json.accessToken).amr, ['pwd', 'mfa']);
      // The challenge is spent.
      assert.equal((await verify(first.json.challenge, { code: codeAt(secret, 1) })).json.error.code, 'invalid_challenge');
    });

    it('refuses a code used before (replay), logging a security event', async function () {
      const { secret } = await enable();
      const code = codeAt(secret, 0);
      assert.equal((await verify((await login()).json.challenge, { code })).status, 200);
      const replay = await verify((await login()).json.challenge, { code });
      assert.equal(replay.status, 401);
      assert.equal(replay.json.error.code, 'invalid_mfa_code');
      assert.ok(api.logs.some((line) => line.event === 'security.totp_replay'));
      // The activation code's step is spent too.
      assert.equal((await verify((await login()).json.challenge, { code: codeAt(secret, -1) })).status, 401);
    });

    it('accepts each recovery code once', async function () {
      const { recoveryCodes } = await enable();
      const used = await verify((await login()).json.challenge, { recoveryCode: recoveryCodes[3]!.toLowerCase() });
      assert.equal(used.status, 200, used.text);
      assert.equal(used.json.recoveryCodesLeft, 9);
      assert.deepEqual(decodeJwt(used.json.accessToken).amr, ['pwd', 'mfa']);
      assert.equal((await verify((await login()).json.challenge, { recoveryCode: recoveryCodes[3]! })).status, 401);
      assert.equal((await verify((await login()).json.challenge, { recoveryCode: recoveryCodes[4]! })).status, 200);
    });

    it('allows 5 tries per challenge, then the challenge is gone', async function () {
      const { secret } = await enable();
      const { challenge } = (await login()).json;
      for (let i = 0; i < 5; i += 1) assert.equal((await verify(challenge, { code: '000000' })).json.error.code, 'invalid_mfa_code');
      const sixth = await verify(challenge, { code: codeAt(secret, 0) });
      assert.equal(sixth.status, 401);
      assert.equal(sixth.json.error.code, 'invalid_challenge');
    });

    it('refuses unknown challenges, and a body with both or neither proof', async function () {
      assert.equal((await verify('C'.repeat(43), { code: '123456' })).json.error.code, 'invalid_challenge');
      assert.equal((await verify('C'.repeat(43), {})).status, 400);
      assert.equal((await verify('C'.repeat(43), { code: '123456', recoveryCode: 'ABCD-EFGH-IJKL' })).status, 400);
    });
  });

  describe('turning MFA off', function () {
    it('needs a current code; then login needs only the password again', async function () {
      const { secret } = await enable();
      const wrong = await api.request('POST', '/auth/mfa/disable', { token, body: { code: '000000' } });
      assert.equal(wrong.status, 401);
      const off = await api.request('POST', '/auth/mfa/disable', { token, body: { code: codeAt(secret, 0) } });
      assert.equal(off.status, 200, off.text);
      assert.equal((await login()).json.mfaRequired, undefined);
      assert.ok(api.logs.some((line) => line.event === 'mfa.disabled'));
    });
  });
});
