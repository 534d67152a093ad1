/**
 * Browser cookie sessions and CSRF: the refresh token lives in one HttpOnly, Secure,
 * SameSite=Strict cookie (`__Host-session`, or the configured name such as Hosting's
 * `__session`); every state-changing request that authenticates with it must come from an
 * allowed origin and carry the session's CSRF token, or it is refused with 403 and changes
 * nothing. Bearer requests need no CSRF token.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { ALLOWED_ORIGIN, startApi, type Response, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

/** The `name=value` part of a Set-Cookie header, and its attributes. */
function parseSetCookie(response: Response): { pair: string; name: string; value: string; attributes: string[] } {
  const header = response.headers['set-cookie'];
  assert.ok(header && header.length === 1, 'exactly one cookie is set');
  const [pair, ...attributes] = header[0]!.split(';').map((part) => part.trim());
  const [name, value] = pair!.split('=') as [string, string];
  return { pair: pair!, name, value, attributes };
}

describe('cookie sessions and CSRF', function () {
  let api: TestApi;

  async function start(env: Record<string, string> = {}): Promise<void> {
    api = await startApi(env);
    await registerVerified(api, EMAIL, PASSWORD);
  }

  afterEach(async function () {
    await api.close();
  });

  async function cookieLogin() {
    const response = await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD, session: 'cookie' }, headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(response.status, 200, response.text);
    return { response, cookie: parseSetCookie(response), csrfToken: response.json.csrfToken as string };
  }

  const browser = (cookie: string, extra: Record<string, string> = {}) => ({ cookie, origin: ALLOWED_ORIGIN, 'sec-fetch-site': 'same-site', ...extra });

  describe('login with session: cookie', function () {
    beforeEach(async function () {
      // A replayed cookie is a theft however soon it comes (the reuse interval has its own spec).
      await start({ AUTH_REFRESH_REUSE_SECONDS: '0' });
    });

    it('sets one HttpOnly, Secure, SameSite=Strict, Path=/ __Host- cookie and keeps the refresh token out of the JSON', async function () {
      const { response, cookie, csrfToken } = await cookieLogin();
      assert.equal(cookie.name, '__Host-session');
      for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.attributes.includes(attribute), attribute);
      assert.ok(!cookie.attributes.some((a) => a.toLowerCase().startsWith('domain')), '__Host- cookies have no Domain');
      const maxAge = Number(cookie.attributes.find((a) => a.startsWith('Max-Age='))!.slice(8));
      assert.ok(Math.abs(maxAge - 30 * 24 * 3600) < 60, 'lives as long as the session');
      assert.equal(response.json.refreshToken, undefined);
      assert.ok(!response.text.includes(cookie.value.split('.')[1]!), 'the refresh token is only in the cookie');
      assert.match(csrfToken, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(response.json.accessToken);
    });

    it('refreshes with the cookie and the CSRF token: a rotated cookie, a new access token, the same CSRF token', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const response = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) });
      assert.equal(response.status, 200, response.text);
      const next = parseSetCookie(response);
      assert.notEqual(next.value, cookie.value);
      assert.equal(next.value.split('.')[0], cookie.value.split('.')[0], 'same session');
      assert.equal(response.json.csrfToken, csrfToken, 'bound to the session, not to one refresh token');
      assert.ok(decodeJwt(response.json.accessToken).sub);
      // The spent cookie is a replay: the whole session goes.
      const replay = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) });
      assert.equal(replay.status, 401);
      assert.equal((await api.request('POST', '/auth/refresh', { body: {}, headers: browser(next.pair, { 'x-csrf-token': csrfToken }) })).status, 401);
    });

    it('refuses a cookie refresh without the CSRF token, or with a wrong one, with 403, spending nothing', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const missing = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair) });
      assert.equal(missing.status, 403);
      assert.equal(missing.json.error.code, 'csrf_token_invalid');
      const altered = `${csrfToken.slice(0, 10)}${csrfToken[10] === 'A' ? 'B' : 'A'}${csrfToken.slice(11)}`; // always one character off
      const wrong = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': altered }) });
      assert.equal(wrong.status, 403);
      // ... and the CSRF token of another session does not fit this one.
      const other = await cookieLogin();
      const crossed = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': other.csrfToken }) });
      assert.equal(crossed.status, 403);
      // The refresh token was never spent: with the right token it still works.
      assert.equal((await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) })).status, 200);
    });

    it('refuses a cookie request from another origin, or with no origin and a cross-site fetch, even with the token', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const evil = await api.request('POST', '/auth/refresh', { body: {}, headers: { cookie: cookie.pair, origin: 'https://evil.example.net', 'x-csrf-token': csrfToken } });
      assert.equal(evil.status, 403);
      assert.equal(evil.json.error.code, 'origin_not_allowed');
      const noOrigin = await api.request('POST', '/auth/refresh', { body: {}, headers: { cookie: cookie.pair, 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrfToken } });
      assert.equal(noOrigin.status, 403);
      const nothing = await api.request('POST', '/auth/refresh', { body: {}, headers: { cookie: cookie.pair, 'x-csrf-token': csrfToken } });
      assert.equal(nothing.status, 403, 'a cookie without any browser provenance is refused');
      const sameOrigin = await api.request('POST', '/auth/refresh', { body: {}, headers: { cookie: cookie.pair, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrfToken } });
      assert.equal(sameOrigin.status, 200);
    });

    it('hands the CSRF token out again to a page that reloaded (GET /auth/session)', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      const response = await api.request('GET', '/auth/session', { headers: { cookie: cookie.pair } });
      assert.equal(response.status, 200);
      assert.equal(response.json.csrfToken, csrfToken);
      assert.equal(response.json.session, true);
      const none = await api.request('GET', '/auth/session');
      assert.equal(none.status, 200, 'no session is an answer, not an error');
      assert.deepEqual(none.json, { session: false });
    });

    it('logs out with the cookie (CSRF-checked), clearing it and ending the session', async function () {
      const { cookie, csrfToken } = await cookieLogin();
      assert.equal((await api.request('POST', '/auth/logout', { body: {}, headers: browser(cookie.pair) })).status, 403);
      const response = await api.request('POST', '/auth/logout', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) });
      assert.equal(response.status, 204);
      const cleared = parseSetCookie(response);
      assert.equal(cleared.value, '');
      assert.ok(cleared.attributes.includes('Max-Age=0'));
      assert.equal((await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) })).status, 401);
    });

    it('needs no CSRF token for bearer requests', async function () {
      const { response } = await cookieLogin();
      const created = await api.request('POST', '/items', {
        token: response.json.accessToken,
        body: { name: 'Desk lamp', description: 'Warm light' },
        headers: { origin: ALLOWED_ORIGIN },
      });
      assert.equal(created.status, 201);
    });

    it('ignores a forged cookie whose session id and refresh token do not belong together', async function () {
      const first = await cookieLogin();
      const second = await cookieLogin();
      const [firstSession] = first.cookie.value.split('.');
      const [, secondToken] = second.cookie.value.split('.');
      const forged = `__Host-session=${firstSession}.${secondToken}`;
      const response = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(forged, { 'x-csrf-token': first.csrfToken }) });
      assert.equal(response.status, 401);
    });
  });

  describe('behind Firebase Hosting', function () {
    it('uses the configured cookie name (__session), the only cookie Hosting forwards', async function () {
      await start({ SESSION_COOKIE_NAME: '__session' });
      const { cookie, csrfToken } = await cookieLogin();
      assert.equal(cookie.name, '__session');
      const response = await api.request('POST', '/auth/refresh', { body: {}, headers: browser(cookie.pair, { 'x-csrf-token': csrfToken }) });
      assert.equal(response.status, 200, response.text);
      assert.equal(parseSetCookie(response).name, '__session');
    });
  });
});
