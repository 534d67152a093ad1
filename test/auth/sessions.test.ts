/**
 * Accounts and sessions over real HTTP: register, login, the access token at work on items,
 * refresh-token rotation, reuse detection, logout, and a login that gives nothing away about
 * which emails have accounts. (Confirming the address, and registration's own silence about
 * existing accounts: test/auth/email-verification.test.ts.)
 */
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { currentHashParameters } from '../../functions/src/auth/passwords.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'Alice.Liddell@Example.com';
const PASSWORD = 'correct horse battery staple';

describe('accounts and sessions', function () {
  let api: TestApi;

  beforeEach(async function () {
    // No reuse interval: a second use of a refresh token is a theft, however soon it comes
    // (the interval has its own spec, test/auth/session-security.test.ts).
    api = await startApi({ AUTH_REFRESH_REUSE_SECONDS: '0' });
  });

  afterEach(async function () {
    await api.close();
  });

  const register = (email = EMAIL, password = PASSWORD) => api.request('POST', '/auth/register', { body: { email, password } });
  const login = (email = EMAIL, password = PASSWORD) => api.request('POST', '/auth/login', { body: { email, password } });
  const refresh = (refreshToken: string) => api.request('POST', '/auth/refresh', { body: { refreshToken } });

  async function signedIn(): Promise<Response> {
    await registerVerified(api, EMAIL, PASSWORD);
    const response = await login();
    assert.equal(response.status, 200, response.text);
    return response;
  }

  describe('POST /auth/register', function () {
    it('creates an account with role user, keyed by the normalised email, never echoing the password', async function () {
      const response = await register();
      assert.equal(response.status, 202, response.text);
      assert.deepEqual(response.json, { accepted: true, email: 'alice.liddell@example.com' });
      assert.ok(!response.text.includes(PASSWORD));
      const users = (await api.store.query<{ email: string; roles: string[]; emailVerifiedAt: string | null; passwordHash: string }>('users', { limit: 10 })).documents;
      assert.equal(users.length, 1);
      const stored = users[0]!.data;
      assert.equal(stored.email, 'alice.liddell@example.com');
      assert.deepEqual(stored.roles, ['user']);
      assert.equal(stored.emailVerifiedAt, null);
      // The parameters in place (OWASP's in the product: test/auth/passwords.test.ts).
      const { ln, r, p } = currentHashParameters();
      assert.ok(stored.passwordHash.startsWith(`scrypt$ln=${ln},r=${r},p=${p}$`), stored.passwordHash);
      assert.ok(!JSON.stringify(stored).includes(PASSWORD));
    });

    it('keeps one account per email, in any case or spacing: a second registration changes nothing', async function () {
      await register();
      const again = await register('  ALICE.liddell@example.COM ', 'another strong passphrase here');
      assert.equal(again.status, 202);
      assert.equal((await api.store.query('users', { limit: 10 })).documents.length, 1);
      assert.equal((await login(EMAIL, 'another strong passphrase here')).status, 401, 'the first password stays');
    });

    it('refuses weak and common passwords with a reason, creating nothing', async function () {
      for (const password of ['short', 'password1234', 'qwertyuiop123', 'alice.liddell!']) {
        const response = await register(EMAIL, password);
        assert.equal(response.status, 400, password);
        assert.equal(response.json.error.code, 'weak_password');
        assert.ok(response.json.error.message.length > 0);
      }
      assert.equal((await api.store.query('users', { limit: 10 })).documents.length, 0);
    });

    it('refuses what is not an email, and unknown fields such as roles', async function () {
      const notEmail = await api.request('POST', '/auth/register', { body: { email: 'alice', password: PASSWORD } });
      assert.equal(notEmail.status, 400);
      assert.equal(notEmail.json.error.details[0].path, 'email');
      const withRoles = await api.request('POST', '/auth/register', { body: { email: EMAIL, password: PASSWORD, roles: ['admin'] } });
      assert.equal(withRoles.status, 400);
      assert.equal((await api.store.query('users', { limit: 10 })).documents.length, 0);
    });
  });

  describe('POST /auth/login', function () {
    it('answers an access token (EdDSA JWT, 15 min, sub/roles/amr/auth_time/jti/iss/aud) and a refresh token', async function () {
      const response = await signedIn();
      const { accessToken, refreshToken, tokenType, expiresIn } = response.json;
      assert.equal(tokenType, 'Bearer');
      assert.equal(expiresIn, 900);
      assert.match(refreshToken, /^[A-Za-z0-9_-]{43}$/);
      const header = decodeProtectedHeader(accessToken);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(header.typ, 'at+jwt');
      assert.deepEqual(header.kid, api.runtime.config.auth.keys.current.kid);
      const claims = decodeJwt(accessToken);
      assert.equal(claims.iss, 'https://bastion.test');
      assert.equal(claims.aud, 'bastion-test-api');
      assert.equal(claims.sub, response.json.user.id);
      assert.deepEqual(claims.roles, ['user']);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.email_verified, true);
      assert.equal(typeof claims.auth_time, 'number');
      assert.equal(typeof claims.jti, 'string');
      assert.equal(claims.exp! - claims.iat!, 900);
      // Only a hash of the refresh token is stored.
      const tokens = await api.store.query('refreshTokens', { limit: 10 });
      assert.equal(tokens.documents.length, 1);
      assert.ok(!JSON.stringify(tokens.documents).includes(refreshToken));
    });

    it('accepts the email in any case', async function () {
      await register();
      assert.equal((await login('ALICE.LIDDELL@example.com')).status, 200);
    });

    it('gives the same answer for an unknown email and a wrong password', async function () {
      await register();
      const wrongPassword = await login(EMAIL, 'not the right passphrase');
      const unknownEmail = await login('nobody@example.com', PASSWORD);
      for (const response of [wrongPassword, unknownEmail]) {
        assert.equal(response.status, 401);
        assert.equal(response.json.error.code, 'invalid_credentials');
      }
      assert.equal(wrongPassword.json.error.message, unknownEmail.json.error.message);
      assert.deepEqual(Object.keys(wrongPassword.headers).sort(), Object.keys(unknownEmail.headers).sort());
    });

    it('takes about as long for an unknown email as for a wrong password (ratio of medians within 0.5-2)', async function () {
      this.timeout(60_000);
      await register();
      const median = async (email: string) => {
        const times: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          const started = performance.now();
          assert.equal((await login(email, 'not the right passphrase')).status, 401);
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b)[2]!;
      };
      await login('warmup@example.com', 'x'); // the decoy hash is made on first use
      const ratio = (await median('nobody@example.com')) / (await median(EMAIL));
      assert.ok(ratio > 0.5 && ratio < 2, `unknown/known = ${ratio.toFixed(2)}`);
    });

    it('upgrades a hash made with older parameters on the next login', async function () {
      await register();
      const { id } = (await api.store.query('users', { limit: 1 })).documents[0]!;
      const { hashPassword } = await import('../../functions/src/auth/passwords.ts');
      await api.store.update('users', id, { passwordHash: await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }) });
      assert.equal((await login()).status, 200);
      const stored = await api.store.get<{ passwordHash: string }>('users', id);
      assert.ok(stored);
      assert.ok(stored.passwordHash.startsWith(`scrypt$ln=${currentHashParameters().ln},`), stored.passwordHash);
      assert.equal((await login()).status, 200, 'the new hash verifies');
    });
  });

  describe('the access token', function () {
    it('works on items and on GET /auth/me', async function () {
      const { json } = await signedIn();
      const token = json.accessToken as string;
      const created = await api.request('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
      assert.equal(created.status, 201);
      assert.equal(created.json.ownerId, json.user.id);
      const me = await api.request('GET', '/auth/me', { token });
      assert.equal(me.status, 200);
      assert.deepEqual(me.json.user, json.user);
    });

    it('is verified by the published JWKS', async function () {
      const { json } = await signedIn();
      const { createLocalJWKSet, jwtVerify } = await import('jose');
      const keys = (await api.request('GET', '/auth/.well-known/jwks.json')).json;
      const { payload } = await jwtVerify(json.accessToken, createLocalJWKSet(keys), { algorithms: ['EdDSA'] });
      assert.equal(payload.sub, json.user.id);
    });
  });

  describe('POST /auth/refresh', function () {
    it('rotates: a new pair, and the old refresh token is spent', async function () {
      const first = (await signedIn()).json;
      const second = await refresh(first.refreshToken);
      assert.equal(second.status, 200, second.text);
      assert.notEqual(second.json.refreshToken, first.refreshToken);
      assert.notEqual(second.json.accessToken, first.accessToken);
      assert.equal(second.json.refreshTokenExpiresAt, first.refreshTokenExpiresAt, 'the session keeps its absolute end');
      assert.equal((await refresh(second.json.refreshToken)).status, 200);
    });

    it('treats a spent refresh token as stolen: 401, the whole session revoked, and a security log line', async function () {
      const first = (await signedIn()).json;
      const second = (await refresh(first.refreshToken)).json;
      const replay = await refresh(first.refreshToken);
      assert.equal(replay.status, 401);
      assert.equal(replay.json.error.code, 'invalid_refresh_token');
      // The legitimate holder of the newest token is signed out too.
      assert.equal((await refresh(second.refreshToken)).status, 401);
      const event = api.logs.find((line) => line.event === 'security.refresh_token_reuse');
      assert.ok(event, 'logged');
      assert.equal(event.userId, first.user.id);
      assert.ok(!api.logText().includes(first.refreshToken), 'the token itself is never logged');
    });

    it('takes role changes into account', async function () {
      const first = (await signedIn()).json;
      await api.store.update('users', first.user.id, { roles: ['viewer'] });
      const next = await refresh(first.refreshToken);
      assert.deepEqual(decodeJwt(next.json.accessToken).roles, ['viewer']);
    });

    it('refuses unknown and malformed refresh tokens', async function () {
      assert.equal((await refresh('A'.repeat(43))).status, 401);
      assert.equal((await refresh('not-a-token')).status, 400);
    });

    it('refuses a session past its 30 days', async function () {
      const first = (await signedIn()).json;
      const families = await api.store.query('tokenFamilies', { limit: 10 });
      const family = families.documents[0]!;
      assert.ok(Math.abs((family.data.expiresAt as number) - (Date.now() + 30 * 24 * 3600 * 1000)) < 60_000);
      await api.store.update('tokenFamilies', family.id, { expiresAt: Date.now() - 1 });
      assert.equal((await refresh(first.refreshToken)).status, 401);
    });
  });

  describe('POST /auth/logout', function () {
    it('ends the session: its refresh tokens no longer work', async function () {
      const first = (await signedIn()).json;
      const response = await api.request('POST', '/auth/logout', { body: { refreshToken: first.refreshToken } });
      assert.equal(response.status, 204);
      assert.equal((await refresh(first.refreshToken)).status, 401);
    });

    it('answers 204 for a token it does not know, revealing nothing', async function () {
      assert.equal((await api.request('POST', '/auth/logout', { body: { refreshToken: 'B'.repeat(43) } })).status, 204);
    });
  });
});
