/**
 * TOTP secrets at rest: sealed with AES-256-GCM under AUTH_TOTP_KEYS and bound to their account,
 * so the database alone yields no second factor; keys rotate by kid (older keys still open,
 * and a secret is sealed again under the first key when next used); secrets stored in the
 * clear by an older version still work; a production start without the keys is refused
 * (test/config/config.test.ts).
 */
import assert from 'node:assert/strict';
import { currentCode } from '../support/totp.ts';
import { TotpSecretError, TotpSecrets } from '../../functions/src/auth/totp-secrets.ts';
import { generateTotpKeys, parseTotpKeys, TotpKeyError } from '../../functions/src/config/totp-keys.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const oldKeys = generateTotpKeys('old');
const newKeys = generateTotpKeys('new');
const rotated = JSON.stringify({ keys: [...JSON.parse(newKeys).keys, ...JSON.parse(oldKeys).keys] });

describe('TOTP secrets at rest', function () {
  describe('sealing', function () {
    it('seals a secret so that only its account and its key open it', function () {
      const secrets = new TotpSecrets(parseTotpKeys(oldKeys));
      const sealed = secrets.seal('alice', SECRET);
      assert.match(sealed, /^enc1\.old\./);
      assert.ok(!sealed.includes(SECRET));
      assert.equal(secrets.open('alice', sealed), SECRET);
      assert.throws(() => secrets.open('mallory', sealed), TotpSecretError, 'bound to its account');
      assert.throws(() => new TotpSecrets(parseTotpKeys(generateTotpKeys('old'))).open('alice', sealed), TotpSecretError, 'another key of the same name');
      const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}A`;
      assert.throws(() => secrets.open('alice', tampered), TotpSecretError);
    });

    it('opens with every configured key, and seals again under the first', function () {
      const sealedBefore = new TotpSecrets(parseTotpKeys(oldKeys)).seal('alice', SECRET);
      const after = new TotpSecrets(parseTotpKeys(rotated));
      assert.equal(after.open('alice', sealedBefore), SECRET);
      const resealed = after.current('alice', sealedBefore);
      assert.match(resealed, /^enc1\.new\./);
      assert.equal(after.open('alice', resealed), SECRET);
      assert.equal(after.current('alice', resealed), resealed, 'already current: unchanged');
      assert.throws(() => new TotpSecrets(parseTotpKeys(newKeys)).open('alice', sealedBefore), /no longer holds/);
    });

    it('reads a secret an older version stored in the clear, and seals it when next written', function () {
      const secrets = new TotpSecrets(parseTotpKeys(newKeys));
      assert.equal(secrets.open('alice', SECRET), SECRET);
      assert.match(secrets.current('alice', SECRET), /^enc1\.new\./);
    });

    it('refuses key sets that are not 32-byte keys with unique kids', function () {
      for (const bad of [
        'nope',
        '{"keys":[]}',
        '{"keys":[{"kty":"oct","kid":"a","k":"c2hvcnQ"}]}',
        JSON.stringify({ keys: [...JSON.parse(oldKeys).keys, ...JSON.parse(oldKeys).keys] }),
      ]) {
        assert.throws(() => parseTotpKeys(bad), TotpKeyError, bad);
      }
    });
  });

  describe('over HTTP', function () {
    this.timeout(20_000);
    let api: TestApi;

    beforeEach(async function () {
      const left = 30_000 - (Date.now() % 30_000);
      if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
      api = await startApi({ AUTH_TOTP_KEYS: oldKeys });
    });

    afterEach(async function () {
      await api.close();
    });

    it('keeps no enrolled or active secret in the clear in the store, and still signs in with it', async function () {
      const credentials = { email: 'alice@example.com', password: 'correct horse battery staple' };
      await registerVerified(api, credentials.email, credentials.password);
      const session = (await api.request('POST', '/auth/login', { body: credentials })).json;
      const enrolled = await api.request('POST', '/auth/mfa/enroll', { token: session.accessToken });
      const secret: string = enrolled.json.secret;
      const pending = await api.store.get<Record<string, any>>('users', session.user.id);
      assert.ok(!JSON.stringify(pending).includes(secret), 'the pending secret is sealed');
      assert.equal((await api.request('POST', '/auth/mfa/activate', { token: session.accessToken, body: { code: currentCode(secret, Date.now() - 30_000) } })).status, 200);
      const user = await api.store.get<Record<string, any>>('users', session.user.id);
      assert.match(user!.mfa.secret, /^enc1\.old\./);
      assert.ok(!JSON.stringify(user).includes(secret));

      const challenge = (await api.request('POST', '/auth/login', { body: credentials })).json.challenge;
      const verified = await api.request('POST', '/auth/mfa/verify', { body: { challenge, code: currentCode(secret) } });
      assert.equal(verified.status, 200, verified.text);
    });
  });
});
