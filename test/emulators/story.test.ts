/**
 * The Firebase path, end to end: the built functions in the Functions emulator, behind the
 * Hosting emulator's rewrites, on the Firestore and Storage emulators — the stack of
 * `npm run emulators`, started by `npm run test:emulators` (test/support/emulator-stack.ts).
 *
 * The same story runs through the Hosting URL (as the web app calls the API, same-origin)
 * and through each function's own URL (as a mobile app calls it): register, confirm the address from the mail, sign in with the
 * cookie session, refresh with the CSRF token, MFA, items, an upload and its download, an
 * admin's role change, and the login limit that no X-Forwarded-For can dodge. On the way it
 * checks what Hosting is known to break: its page headers replacing the API's own, a
 * Set-Cookie dropped, the JWKS under a dot segment, downloads losing `sandbox`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { currentCode } from '../support/totp.ts';
import { send, type RequestOptions, type Response } from '../support/api.ts';
import { emulatorOutput, emulatorStack, OUTBOX } from '../support/emulator-stack.ts';
import type { EmulatorStack } from '../../scripts/emulators.ts';
import { png } from '../support/images.ts';
import { fileForm } from '../support/multipart.ts';
import { clearEmulatorData } from '../support/target.ts';
import { skipBecause } from '../support/skip.ts';
import { lastMailTo, linkToken, VERIFY_SUBJECT } from '../support/outbox.ts';

const PASSWORD = 'correct-horse-battery-staple-1815';
const ADMIN_EMAIL = 'root@example.com';

// Written by hand: what an API answer and a page must carry (README, "What every request goes through").
const API_CSP = "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'";
const PAGE_CSP_START = "default-src 'self'";

type FunctionName = 'auth' | 'items' | 'uploads';

interface Entry {
  name: string;
  /** The URL of `path` of function `fn`, as this entry's clients call it. */
  url(fn: FunctionName, path: string): string;
  /** What a browser on the web app sends with a state-changing request to this entry. */
  browserHeaders(): Record<string, string>;
}

function cookieFrom(response: Response, name: string): string | undefined {
  const header = response.headers['set-cookie'] ?? [];
  const line = header.find((c) => c.startsWith(`${name}=`));
  return line ? line.split(';', 1)[0] : undefined;
}

function call(entry: Entry, method: string, fn: FunctionName, path: string, options: RequestOptions = {}): Promise<Response> {
  const url = new URL(entry.url(fn, path));
  return send(url.origin, method, `${url.pathname}${url.search}`, options);
}

function assertApiHeaders(response: Response, what: string): void {
  assert.equal(response.headers['content-security-policy'], API_CSP, `${what}: the API's own CSP, not the page's`);
  assert.equal(response.headers['cache-control'], 'private, no-store', what);
  assert.equal(response.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(response.headers['x-frame-options'], 'DENY', what);
  assert.equal(response.headers['cross-origin-resource-policy'], 'same-origin', what);
  assert.ok(response.headers['x-request-id'], `${what}: a request id`);
}

describe('the Firebase path on the Emulator Suite (npm run test:emulators)', function () {
  this.timeout(120_000);
  // Started by the global fixture, after the spec files are loaded.
  let stack: EmulatorStack | undefined;

  before(async function () {
    stack = emulatorStack();
    if (!stack) skipBecause(this, 'the emulator stack is not running (npm run test:emulators runs it)');
    const { store, blobs } = await clearEmulatorData(stack);
    await Promise.all([store.close(), blobs.close()]);
    // The first admin, made on the emulator's Firestore by the documented command.
    const made = spawnSync(process.execPath, ['functions/src/cli/admin.ts', '--email', ADMIN_EMAIL, '--password-stdin'], {
      input: PASSWORD,
      encoding: 'utf8',
      env: { ...process.env, ...stack.clientEnv, APP_ENV: 'test' },
    });
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /is now an admin/);
  });

  it('runs the built functions on Node 22, loading no driver they do not use (no node:sqlite on Firestore)', function () {
    const lines = emulatorOutput();
    assert.ok(
      lines.some((line) => line.includes('Using node@22 from host')),
      'the Functions emulator runs them on Node 22',
    );
    // The scheduled reconcile and retryMail are discovered too; the emulator has no Pub/Sub to run them on.
    assert.ok(
      lines.some((line) => /Loaded functions definitions from source: auth, items, reconcile, retryMail, uploads\b/.test(line)),
      'the three HTTP functions and the two scheduled ones',
    );
    for (const scheduled of ['reconcile', 'retryMail']) {
      assert.ok(
        lines.some((line) => new RegExp(`functions\\[[a-z0-9-]+-${scheduled}\\]: function ignored because the pubsub emulator`).test(line)),
        `${scheduled} is not run by the emulator`,
      );
    }
    assert.deepEqual(
      lines.filter((line) => /ExperimentalWarning|SQLite|node:sqlite/.test(line)),
      [],
    );
    assert.deepEqual(
      lines.filter((line) => /invalid configuration|function failed to start/.test(line)),
      [],
    );
  });

  it('serves the web app with the page headers, and the API contract and JWKS through rewrites with the API headers', async function () {
    const page = await send(stack!.hostingUrl, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<html/);
    const pageCsp = String(page.headers['content-security-policy']);
    assert.ok(pageCsp.startsWith(PAGE_CSP_START), pageCsp);
    for (const path of ['/auth/.well-known/jwks.json', '/openapi.json', '/auth/openapi.json']) {
      const answer = await send(stack!.hostingUrl, 'GET', path);
      assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 200)}`);
      assertApiHeaders(answer, path);
    }
    const jwks = await send(stack!.hostingUrl, 'GET', '/auth/.well-known/jwks.json');
    assert.ok(jwks.json.keys.length >= 1);
    const missing = await send(stack!.hostingUrl, 'GET', '/items/no-such-route/at/all');
    assert.equal(missing.status, 404);
    assertApiHeaders(missing, 'a 404 of the API');
  });

  const entries: Entry[] = [
    {
      name: 'through Hosting',
      url: (fn, path) => `${stack!.hostingUrl}/${fn}${path}`,
      browserHeaders: () => ({ origin: stack!.hostingUrl, 'sec-fetch-site': 'same-origin' }),
    },
    {
      name: "through the function's own URL",
      url: (fn, path) => `${stack!.functionUrl(fn)}${path || '/'}`,
      // The web app's origin calling the function's origin: an allowed origin (functions/.env.local).
      browserHeaders: () => ({ origin: stack!.hostingUrl, 'sec-fetch-site': 'same-site' }),
    },
  ];

  for (const entry of entries) {
    describe(entry.name, function () {
      const email = `ada-${entry.name.replace(/\W+/g, '-')}@example.com`;
      let cookie: string;
      let csrfToken: string;
      let accessToken: string;
      let userId: string;
      let recoveryCodes: string[];

      it('registers, confirms the address from the mailed link, and signs in with the cookie session: the Set-Cookie arrives, with the API headers', async function () {
        const registered = await call(entry, 'POST', 'auth', '/register', { body: { email, password: PASSWORD } });
        assert.equal(registered.status, 202, registered.text);
        assertApiHeaders(registered, 'register');
        // The functions' outbox driver wrote the mail (MAIL_OUTBOX_DIR of the stack).
        const token = linkToken(await lastMailTo(OUTBOX, email, VERIFY_SUBJECT), 'verify-email');
        const verified = await call(entry, 'POST', 'auth', '/verify-email', { body: { token } });
        assert.equal(verified.status, 200, verified.text);
        assertApiHeaders(verified, 'verify the address');
        userId = verified.json.user.id;
        const login = await call(entry, 'POST', 'auth', '/login', { body: { email, password: PASSWORD, session: 'cookie' }, headers: entry.browserHeaders() });
        assert.equal(login.status, 200, login.text);
        assertApiHeaders(login, 'login');
        const setCookie = login.headers['set-cookie']?.find((c) => c.startsWith('__session='));
        assert.ok(setCookie, 'the session cookie reached the client');
        assert.match(setCookie, /; HttpOnly/);
        assert.match(setCookie, /; Secure/);
        assert.match(setCookie, /; SameSite=Strict/);
        assert.equal(login.json.refreshToken, undefined, 'the refresh token travels only in the cookie');
        cookie = cookieFrom(login, '__session')!;
        csrfToken = login.json.csrfToken;
        accessToken = login.json.accessToken;
      });

      it('refreshes with the cookie and its CSRF token, and refuses the cookie without the token', async function () {
        const refused = await call(entry, 'POST', 'auth', '/refresh', { body: {}, headers: { ...entry.browserHeaders(), cookie } });
        assert.equal(refused.status, 403);
        assert.equal(refused.json.error.code, 'csrf_token_invalid');
        const refreshed = await call(entry, 'POST', 'auth', '/refresh', { body: {}, headers: { ...entry.browserHeaders(), cookie, 'x-csrf-token': csrfToken } });
        assert.equal(refreshed.status, 200, refreshed.text);
        const next = cookieFrom(refreshed, '__session');
        assert.ok(next && next !== cookie, 'the refresh token rotated, in a new cookie');
        cookie = next!;
        csrfToken = refreshed.json.csrfToken ?? csrfToken;
        accessToken = refreshed.json.accessToken;
      });

      it('turns MFA on, then signs in through the challenge', async function () {
        const enrolled = await call(entry, 'POST', 'auth', '/mfa/enroll', { token: accessToken });
        assert.equal(enrolled.status, 200, enrolled.text);
        const activated = await call(entry, 'POST', 'auth', '/mfa/activate', { token: accessToken, body: { code: currentCode(enrolled.json.secret) } });
        assert.equal(activated.status, 200, activated.text);
        recoveryCodes = activated.json.recoveryCodes;
        const login = await call(entry, 'POST', 'auth', '/login', { body: { email, password: PASSWORD } });
        assert.equal(login.json.mfaRequired, true, login.text);
        const verified = await call(entry, 'POST', 'auth', '/mfa/verify', { body: { challenge: login.json.challenge, recoveryCode: recoveryCodes[0] } });
        assert.equal(verified.status, 200, verified.text);
        const claims = JSON.parse(Buffer.from(verified.json.accessToken.split('.')[1], 'base64url').toString());
        assert.deepEqual(claims.amr, ['pwd', 'mfa']);
        accessToken = verified.json.accessToken;
      });

      it('creates, lists, reads, changes and deletes an item', async function () {
        const created = await call(entry, 'POST', 'items', '', { token: accessToken, body: { name: 'Desk lamp', description: 'Warm light' } });
        assert.equal(created.status, 201, created.text);
        assertApiHeaders(created, 'create an item');
        const id = created.json.id as string;
        const listed = await call(entry, 'GET', 'items', '', { token: accessToken });
        assert.deepEqual(
          listed.json.items.map((item: { id: string }) => item.id),
          [id],
        );
        assert.equal((await call(entry, 'GET', 'items', `/${id}`, { token: accessToken })).json.name, 'Desk lamp');
        const changed = await call(entry, 'PATCH', 'items', `/${id}`, { token: accessToken, body: { name: 'Floor lamp' } });
        assert.equal(changed.status, 200, changed.text);
        assert.equal(changed.json.name, 'Floor lamp');
        assert.equal((await call(entry, 'DELETE', 'items', `/${id}`, { token: accessToken })).status, 204);
        assert.equal((await call(entry, 'GET', 'items', `/${id}`, { token: accessToken })).status, 404);
      });

      it('stores an upload and serves it back as a sandboxed attachment, then deletes it', async function () {
        const image = png();
        const form = fileForm('holiday.png', 'image/png', image);
        const created = await call(entry, 'POST', 'uploads', '', { token: accessToken, raw: form.body, headers: { 'content-type': form.contentType } });
        assert.equal(created.status, 201, created.text);
        const content = await call(entry, 'GET', 'uploads', `/${created.json.id}/content`, { token: accessToken });
        assert.equal(content.status, 200);
        assert.ok(content.bytes.equals(image), 'the same bytes');
        assert.equal(content.headers['content-type'], 'image/png');
        assert.equal(content.headers['x-content-type-options'], 'nosniff');
        assert.match(content.headers['content-disposition'] ?? '', /^attachment/);
        assert.match(String(content.headers['content-security-policy']), /\bsandbox\b/, 'the download stays sandboxed');
        assert.equal((await call(entry, 'DELETE', 'uploads', `/${created.json.id}`, { token: accessToken })).status, 204);
        assert.equal((await call(entry, 'GET', 'uploads', `/${created.json.id}`, { token: accessToken })).status, 404);
      });

      it("lets an admin with an MFA sign-in change the user's roles, taking effect at the user's next refresh", async function () {
        const admin = await call(entry, 'POST', 'auth', '/login', { body: { email: ADMIN_EMAIL, password: PASSWORD } });
        let adminToken = admin.json.accessToken as string;
        if (!admin.json.mfaRequired) {
          // The admin turns MFA on once (the first entry's turn), as the role change demands.
          const enrolled = await call(entry, 'POST', 'auth', '/mfa/enroll', { token: adminToken });
          const activated = await call(entry, 'POST', 'auth', '/mfa/activate', { token: adminToken, body: { code: currentCode(enrolled.json.secret) } });
          assert.equal(activated.status, 200, activated.text);
          adminRecoveryCodes.push(...activated.json.recoveryCodes);
        }
        const withoutMfa = await call(entry, 'PUT', 'auth', `/users/${userId}/roles`, { token: adminToken, body: { roles: ['viewer'] } });
        if (!admin.json.mfaRequired) assert.equal(withoutMfa.json.error.code, 'mfa_required');
        const challenge = (await call(entry, 'POST', 'auth', '/login', { body: { email: ADMIN_EMAIL, password: PASSWORD } })).json.challenge;
        const verified = await call(entry, 'POST', 'auth', '/mfa/verify', { body: { challenge, recoveryCode: adminRecoveryCodes.shift() } });
        assert.equal(verified.status, 200, verified.text);
        adminToken = verified.json.accessToken;
        const changed = await call(entry, 'PUT', 'auth', `/users/${userId}/roles`, { token: adminToken, body: { roles: ['viewer'] } });
        assert.equal(changed.status, 200, changed.text);
        assert.deepEqual(changed.json.user.roles, ['viewer']);
        const refreshed = await call(entry, 'POST', 'auth', '/refresh', { body: {}, headers: { ...entry.browserHeaders(), cookie, 'x-csrf-token': csrfToken } });
        assert.equal(refreshed.status, 200, refreshed.text);
        const claims = JSON.parse(Buffer.from(refreshed.json.accessToken.split('.')[1], 'base64url').toString());
        assert.deepEqual(claims.roles, ['viewer']);
        const refused = await call(entry, 'POST', 'items', '', { token: refreshed.json.accessToken, body: { name: 'x', description: 'y' } });
        assert.equal(refused.status, 403, 'a viewer may not create');
      });

      it('counts wrong passwords for one address however X-Forwarded-For is forged: the 11th is refused', async function () {
        const target = `target-${entry.name.replace(/\W+/g, '-')}@example.com`;
        await call(entry, 'POST', 'auth', '/register', { body: { email: target, password: PASSWORD } });
        const statuses: number[] = [];
        for (let i = 0; i < 11; i += 1) {
          const forged = `203.0.113.${i + 1}, 198.51.100.${i + 1}`;
          const attempt = await call(entry, 'POST', 'auth', '/login', { body: { email: target, password: `wrong-password-number-${i}` }, headers: { 'x-forwarded-for': forged } });
          statuses.push(attempt.status);
        }
        assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
        const owner = await call(entry, 'POST', 'auth', '/login', { body: { email: target, password: PASSWORD }, headers: { 'x-forwarded-for': '192.0.2.77' } });
        assert.equal(owner.status, 429, 'a forged address is not another client');
        assert.ok(Number(owner.headers['retry-after']) > 0);
      });
    });
  }
});

/** The admin's recovery codes, spent one per MFA sign-in across both entries. */
const adminRecoveryCodes: string[] = [];
