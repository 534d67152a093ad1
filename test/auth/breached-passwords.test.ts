/**
 * Breached passwords (ASVS 6.2.12), over real HTTP against a range API standing in for Have I
 * Been Pwned on loopback: a password seen in breaches is refused at registration, reset and
 * change, with nothing changed; only the first 5 characters of its SHA-1 ever leave; a check that
 * cannot be done answers 503 (fail-closed) or lets the password through, logged (fail-open); off,
 * nothing is asked.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../functions/src/config/index.ts';
import { productionEnv } from '../config/support.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { lastMailTo, linkToken, registerVerified } from '../support/outbox.ts';
import { startStandIn, type StandIn } from '../support/stand-in.ts';

const BREACHED = 'correct horse battery staple';
const FRESH = 'a7 violet anchors drift over Lisbon';
const sha1 = (password: string) => createHash('sha1').update(password).digest('hex').toUpperCase();

/** A padded range answer for `password`'s prefix: other suffixes, never-seen padding, and the password's own when `seen`. */
function rangeFor(password: string, seen: number): string {
  const suffix = sha1(password).slice(5);
  const lines = ['0018A45C4D1DEF81644B54AB7F969B88D65:1', '00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2', '011053FD0102E94D6AE2F8B83D76FAF94F6:0'];
  if (seen > 0) lines.push(`${suffix}:${seen}`);
  return `${lines.join('\r\n')}\r\n`;
}

describe('breached passwords (auth/breached-passwords.ts)', function () {
  let range: StandIn;
  let api: TestApi | undefined;

  beforeEach(async function () {
    range = await startStandIn();
    range.on(`/range/${sha1(BREACHED).slice(0, 5)}`, { answer: rangeFor(BREACHED, 3_730_471) });
    range.on(`/range/${sha1(FRESH).slice(0, 5)}`, { answer: rangeFor(FRESH, 0) });
  });

  afterEach(async function () {
    await api?.close();
    api = undefined;
    await range.close();
  });

  const start = (check: string) => startApi({ BREACHED_PASSWORD_CHECK: check, BREACHED_PASSWORD_API_URL: range.url });
  const register = (password: string, email = 'ada@example.com') => api!.request('POST', '/auth/register', { body: { email, password } });

  it('refuses a password seen in breaches at registration, in words, creating nothing', async function () {
    api = await start('fail-closed');
    const refused = await register(BREACHED);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.error.code, 'weak_password');
    assert.match(refused.json.error.message, /appeared in data breaches \(3,730,471 times\)/);
    assert.equal(refused.json.error.details.breached, true);
    assert.deepEqual((await api.store.query('users', { limit: 5 })).documents, []);
    assert.equal((await register(FRESH)).status, 202);
  });

  it('sends only the first 5 characters of the SHA-1, and asks for a padded answer', async function () {
    api = await start('fail-closed');
    await register(BREACHED);
    assert.equal(range.requests.length, 1);
    const [request] = range.requests;
    assert.equal(request!.url, `/range/${sha1(BREACHED).slice(0, 5)}`);
    assert.equal(request!.headers['add-padding'], 'true');
    const sent = JSON.stringify({ url: request!.url, headers: request!.headers });
    assert.ok(!sent.includes(sha1(BREACHED).slice(5)) && !sent.includes(BREACHED), 'neither the rest of the hash nor the password');
  });

  it('refuses a breached password at reset and at change too, the old one staying', async function () {
    api = await start('fail-closed');
    const { id } = await registerVerified(api, 'ada@example.com', FRESH);
    const token = (await api.request('POST', '/auth/login', { body: { email: 'ada@example.com', password: FRESH } })).json.accessToken as string;
    const change = await api.request('POST', '/auth/password/change', { token, body: { currentPassword: FRESH, newPassword: BREACHED } });
    assert.equal(change.json.error?.code, 'weak_password', change.text);
    assert.equal((await api.request('POST', '/auth/password/forgot', { body: { email: 'ada@example.com' } })).status, 202);
    const resetToken = linkToken(await lastMailTo(api.outbox, 'ada@example.com', /reset/i), 'reset-password');
    const reset = await api.request('POST', '/auth/password/reset', { body: { token: resetToken, password: BREACHED } });
    assert.equal(reset.json.error?.code, 'weak_password', reset.text);
    assert.equal((await api.request('POST', '/auth/login', { body: { email: 'ada@example.com', password: FRESH } })).status, 200, `${id} keeps its password`);
  });

  it('fail-closed: a range API that answers 500 or garbage, or is gone, gets 503 with Retry-After and nothing is created', async function () {
    api = await start('fail-closed');
    range.on(`/range/${sha1(FRESH).slice(0, 5)}`, { answer: 'oops', status: 500 });
    for (const answer of [await register(FRESH)]) {
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.json.error.code, 'breached_password_check_unavailable');
      assert.ok(Number(answer.headers['retry-after']) >= 1);
    }
    range.on(`/range/${sha1(FRESH).slice(0, 5)}`, { answer: '<html>maintenance</html>' });
    assert.equal((await register(FRESH)).json.error.code, 'breached_password_check_unavailable');
    assert.deepEqual((await api.store.query('users', { limit: 5 })).documents, []);
  });

  it('fail-open: a check that cannot be done lets the password through, and says so in the log', async function () {
    api = await start('fail-open');
    range.on(`/range/${sha1(FRESH).slice(0, 5)}`, { hang: true });
    const answer = await register(FRESH);
    assert.equal(answer.status, 202, answer.text);
    assert.ok(api.logs.some((line) => line.event === 'password.breach_check_skipped'));
    assert.equal((await register(BREACHED, 'grace@example.com')).json.error.code, 'weak_password', 'a check that answers still refuses');
  });

  it('off (the default): nothing is asked', async function () {
    api = await startApi({ BREACHED_PASSWORD_API_URL: range.url });
    assert.equal((await register(BREACHED)).status, 202);
    assert.equal(range.hits(), 0);
  });

  it('is configured by the environment, refusing a check that is not off/fail-open/fail-closed and plain http in production', async function () {
    await assert.rejects(loadConfig({ APP_ENV: 'development', BREACHED_PASSWORD_CHECK: 'on' }), /BREACHED_PASSWORD_CHECK/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', BREACHED_PASSWORD_API_URL: 'ftp://example.com' }), /BREACHED_PASSWORD_API_URL/);
    await assert.rejects(
      loadConfig(await productionEnv({ BREACHED_PASSWORD_CHECK: 'fail-closed', BREACHED_PASSWORD_API_URL: 'http://range.example.com' })),
      /BREACHED_PASSWORD_API_URL must be https in production/,
    );
    const config = await loadConfig(await productionEnv({ BREACHED_PASSWORD_CHECK: 'fail-closed' }));
    assert.deepEqual(config.breachedPasswords, { check: 'fail-closed', apiUrl: 'https://api.pwnedpasswords.com' });
  });
});
