/**
 * The whole life of an account, in order, over real HTTP, as one story: register, sign in,
 * turn MFA on, sign out, sign in with the second factor, use the API, refresh, have a stolen
 * refresh token replayed, sign in again, promote to admin with a fresh MFA sign-in, sign out.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { currentCode } from '../support/totp.ts';
import { setRoles } from '../../functions/src/auth/roles.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'carol@example.com';
const PASSWORD = 'correct horse battery staple';

describe('the life of an account', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async function () {
    // Codes of the previous, current and next 30 s step are used: start well inside a step.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    // The thief below replays a copy within a second; the two-tab allowance is off for this story.
    api = await startApi({ AUTH_REFRESH_REUSE_SECONDS: '0' });
  });

  after(async function () {
    await api.close();
  });

  it('goes from registration to MFA, refresh, theft detection and sign-out', async function () {
    const post = (path: string, body: unknown, token?: string) => api.request('POST', path, { body, ...(token ? { token } : {}) });

    const uid = (await registerVerified(api, EMAIL, PASSWORD)).id;

    const first = await post('/auth/login', { email: EMAIL, password: PASSWORD });
    assert.deepEqual(decodeJwt(first.json.accessToken).amr, ['pwd']);

    const enrolled = await post('/auth/mfa/enroll', undefined, first.json.accessToken);
    const secret = enrolled.json.secret as string;
    const activated = await post('/auth/mfa/activate', { code: currentCode(secret, Date.now() - 30_000) }, first.json.accessToken);
    assert.equal(activated.json.recoveryCodes.length, 10);
    assert.equal((await post('/auth/logout', { refreshToken: first.json.refreshToken })).status, 204);
    assert.equal((await post('/auth/refresh', { refreshToken: first.json.refreshToken })).status, 401, 'signed out');

    const challenged = await post('/auth/login', { email: EMAIL, password: PASSWORD });
    assert.equal(challenged.json.mfaRequired, true);
    const signedIn = await post('/auth/mfa/verify', { challenge: challenged.json.challenge, code: currentCode(secret) });
    assert.equal(signedIn.status, 200);
    assert.deepEqual(decodeJwt(signedIn.json.accessToken).amr, ['pwd', 'mfa']);

    const item = await post('/items', { name: 'Tea kettle', description: 'Whistles when ready' }, signedIn.json.accessToken);
    assert.equal(item.status, 201);
    assert.equal(item.json.ownerId, uid);

    const refreshed = await post('/auth/refresh', { refreshToken: signedIn.json.refreshToken });
    assert.equal(refreshed.status, 200);
    assert.deepEqual(decodeJwt(refreshed.json.accessToken).amr, ['pwd', 'mfa'], 'the session keeps how it began');

    // Someone replays the refresh token they copied: the session ends for everyone.
    assert.equal((await post('/auth/refresh', { refreshToken: signedIn.json.refreshToken })).status, 401);
    assert.equal((await post('/auth/refresh', { refreshToken: refreshed.json.refreshToken })).status, 401);
    assert.ok(api.logs.some((line) => line.event === 'security.refresh_token_reuse' && line.userId === uid));

    // Promoted (as `npm run admin` does), then a fresh MFA sign-in may change roles.
    await setRoles(api.store, uid, ['user', 'admin']);
    const again = await post('/auth/login', { email: EMAIL, password: PASSWORD });
    const admin = await post('/auth/mfa/verify', { challenge: again.json.challenge, code: currentCode(secret, Date.now() + 30_000) });
    assert.deepEqual(decodeJwt(admin.json.accessToken).roles, ['user', 'admin']);
    const bob = await registerVerified(api, 'bob@example.com', PASSWORD);
    const changed = await api.request('PUT', `/auth/users/${bob.id}/roles`, { token: admin.json.accessToken, body: { roles: ['viewer'] } });
    assert.equal(changed.status, 200, changed.text);

    assert.equal((await post('/auth/logout', { refreshToken: admin.json.refreshToken })).status, 204);
    assert.equal((await post('/auth/refresh', { refreshToken: admin.json.refreshToken })).status, 401);
  });
});
