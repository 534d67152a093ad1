/**
 * What the owner of an account is told by mail, over real HTTP with the mail read back from the
 * outbox: a sign-in from a device that has not signed in before (no device token of the account
 * came with it; with MFA, once the second factor is given), and two-step sign-in turned on or
 * off. (A password or address change: test/auth/account-changes.test.ts.)
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { waitFor } from '../../scripts/wait.ts';
import { lastMailTo, mailsTo, registerVerified } from '../support/outbox.ts';
import { currentCode } from '../support/totp.ts';

const EMAIL = 'hedy@example.com';
const PASSWORD = 'correct horse battery staple';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
const NEW_SIGN_IN = 'A new sign-in to your account';

describe('notifications to the owner (auth/handlers.ts)', function () {
  let api: TestApi;

  beforeEach(async function () {
    api = await startApi({ TRUSTED_PROXY_HOPS: '1' });
    await registerVerified(api, EMAIL, PASSWORD);
  });

  afterEach(async function () {
    await api.close();
  });

  const login = (extra: Record<string, unknown> = {}) =>
    api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD, ...extra }, headers: { 'user-agent': FIREFOX, 'x-forwarded-for': '198.51.100.23' } });
  /** Every mail asked for so far, handed over: a message is recorded in mailQueue before the answer and leaves it once in the outbox. */
  const settled = () => waitFor(async () => (await api.store.query('mailQueue', { limit: 1 })).documents.length === 0, { timeoutMs: 5000, what: 'the mail handed over' });
  const signInMails = async () => {
    await settled();
    return (await mailsTo(api.outbox, EMAIL)).filter((mail) => mail.subject === NEW_SIGN_IN);
  };

  it('tells of a sign-in from a new device, naming it and its address, and not of one from a device that signed in before', async function () {
    const first = await login();
    assert.equal(first.status, 200);
    const mail = await lastMailTo(api.outbox, EMAIL, NEW_SIGN_IN);
    assert.match(mail.text ?? '', /Firefox 133 on Linux, at 198\.51\.100\.23/);
    const again = await login({ deviceToken: first.json.deviceToken });
    assert.equal(again.status, 200);
    assert.equal((await signInMails()).length, 1, 'the known device signed in unannounced');
  });

  it('tells when two-step sign-in goes on and off, and of a new device only once its second factor is given', async function () {
    const { accessToken } = (await login()).json;
    const secret = (await api.request('POST', '/auth/mfa/enroll', { token: accessToken })).json.secret as string;
    const activated = await api.request('POST', '/auth/mfa/activate', { token: accessToken, body: { code: currentCode(secret) } });
    assert.equal(activated.status, 200);
    await lastMailTo(api.outbox, EMAIL, 'Two-step sign-in is on');

    // A new device: the password alone is no sign-in yet.
    const before = (await signInMails()).length;
    const challenge = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json.challenge as string;
    assert.equal((await signInMails()).length, before, 'nothing yet: the password alone signs nobody in');
    const verified = await api.request('POST', '/auth/mfa/verify', { body: { challenge, recoveryCode: activated.json.recoveryCodes[0] } });
    assert.equal(verified.status, 200, verified.text);
    assert.equal((await signInMails()).length, before + 1);

    const token = verified.json.accessToken as string;
    assert.equal((await api.request('POST', '/auth/mfa/disable', { token, body: { code: currentCode(secret, Date.now() + 30_000) } })).status, 200);
    await lastMailTo(api.outbox, EMAIL, 'Two-step sign-in is off');
  });
});
