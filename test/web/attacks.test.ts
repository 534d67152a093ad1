/**
 * Attacks on a signed-in browser from another origin (another loopback host and port, served
 * by this test), in real Chromium: a page that auto-submits a form POST to /items, a fetch with
 * credentials, and a frame embedding the app. Each is refused and nothing is written.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTarget, type Target } from '../support/target.ts';
import { registerVerified } from '../support/outbox.ts';
import { buildWebApp } from '../support/web.ts';
import { chromiumInstalled, launch } from './support.ts';
import { skipBecause } from '../support/skip.ts';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct-horse-battery-staple-1815';

describe('web client in Chromium, attacked from another origin', function () {
  this.timeout(60_000);
  let api: Target;
  let browser: Browser;
  let context: BrowserContext;
  let evil: Server;
  let evilOrigin: string;
  let evilPage: string;
  /** Answers the API gave to requests from the attacker's pages. */
  let answers: { url: string; method: string; status: number }[];

  before(async function () {
    if (!chromiumInstalled()) skipBecause(this, "Debian's chromium is not installed (apt-get install chromium; .ci/run does)");
    buildWebApp();
    api = await startTarget();
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(evilPage);
    });
    // `localhost` is another site than the API's 127.0.0.1, on another port too.
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
    browser = await launch();
    context = await browser.newContext();
    // The victim signs in to the app: the browser now holds the session cookie.
    const app = await context.newPage();
    await registerVerified(api, EMAIL, PASSWORD);
    await app.goto(`${api.url}/#/login`);
    await app.getByLabel('Email').fill(EMAIL);
    await app.getByLabel('Password').fill(PASSWORD);
    await app.getByRole('button', { name: 'Sign in' }).click();
    await app.getByRole('heading', { name: 'Items' }).waitFor();
    assert.equal((await context.cookies()).length, 1);
  });

  after(async function () {
    await browser?.close();
    evil?.close();
    await api?.close();
  });

  beforeEach(function () {
    answers = [];
  });

  async function visitEvil(html: string): Promise<Page> {
    evilPage = html;
    const page = await context.newPage();
    page.on('response', (response) => {
      if (response.url().startsWith(api.url)) answers.push({ url: response.url(), method: response.request().method(), status: response.status() });
    });
    await page.goto(evilOrigin);
    return page;
  }

  const itemCount = async () => (await api.store.query('items', { limit: 10 })).documents.length;
  const familyState = async () => JSON.stringify((await api.store.query('refreshTokens', { limit: 50 })).documents);

  it('an auto-submitting form POST to /items: 403, nothing written', async function () {
    const page = await visitEvil(`<form method="post" action="${api.url}/items" enctype="text/plain">
      <input name='{"name":"pwned","description":"by a form","x":"' value='"}'></form>
      <script>document.forms[0].submit()</script>`);
    await page.waitForURL(`${api.url}/items`);
    assert.deepEqual(
      answers.map((a) => [a.method, a.status]),
      [['POST', 403]],
    );
    assert.match(String(await page.textContent('body')), /origin_not_allowed/);
    assert.equal(await itemCount(), 0);
  });

  it('a fetch with credentials: included: refused (403), nothing written, the session not touched', async function () {
    // Log lines may trail the answers (the emulator relays them from each function's output):
    // the previous step's first, then only this one's counted.
    for (let seen = -1, deadline = Date.now() + 5000; seen !== api.logs.length && Date.now() < deadline;) {
      seen = api.logs.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const from = api.logs.length;
    const before = await familyState();
    const page = await visitEvil('<p>hello</p>');
    const outcomes = await page.evaluate(async (api) => {
      const attempt = (path: string, init: RequestInit) =>
        fetch(`${api}${path}`, { credentials: 'include', ...init }).then(
          (r) => `status ${r.status}`,
          (e: unknown) => `blocked: ${(e as Error).name}`,
        );
      return [
        await attempt('/items', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"name":"pwned","description":"by fetch"}' }),
        // A "simple" request, sent without a preflight: the server must refuse it itself.
        await attempt('/items', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"name":"pwned","description":"by fetch"}' }),
        await attempt('/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
        await attempt('/auth/logout', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }),
      ];
    }, api.url);
    // The page learns nothing (CORS hides every answer); the server refused each one.
    assert.ok(
      outcomes.every((o) => o.startsWith('blocked')),
      outcomes.join(', '),
    );
    const servedLines = () => api.logs.slice(from).filter((line) => line.message === 'request' && line.ip === api.clientIp);
    for (const deadline = Date.now() + 5000; servedLines().length < 4 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20));
    // In any order: two functions' lines are relayed by two processes.
    assert.deepEqual(
      servedLines()
        .map((line) => `${line.method} ${line.path} ${line.status}`)
        .sort(),
      ['OPTIONS /items 403', 'POST /auth/logout 403', 'POST /auth/refresh 403', 'POST /items 403'],
    );
    assert.equal(await itemCount(), 0);
    assert.equal(await familyState(), before, 'no refresh token spent or revoked');
  });

  it('a frame embedding the app: not displayed', async function () {
    const page = await visitEvil(`<iframe src="${api.url}/#/items" width="600" height="400"></iframe>`);
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    await page.waitForTimeout(500);
    const embedded = await frame.evaluate(() => document.getElementById('screen') !== null).catch(() => false);
    assert.equal(embedded, false, 'the app does not render inside another site');
  });
});
