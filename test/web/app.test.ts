/**
 * The web client in real headless Chromium, over real HTTP: the whole flow a person goes
 * through, asserting what the page shows and what the API stored, with no console error and no
 * CSP violation anywhere. A screenshot of each screen lands in test/.artifacts/screenshots.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { currentCode } from '../support/totp.ts';
import { startApi } from '../support/api.ts';
import { onEmulators, startTarget, type Target } from '../support/target.ts';
import { lastMailTo, linkToken, VERIFY_SUBJECT } from '../support/outbox.ts';
import { buildWebApp } from '../support/web.ts';
import { assertCleanPage, chromiumInstalled, launch, screenshot, watchedPage, expectFailedLoad as expectFailedLoadIn, recordFailure, type WatchedPage } from './support.ts';
import { skipBecause } from '../support/skip.ts';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct-horse-battery-staple-1815';
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const STEP_MS = 30_000;

describe('web client in Chromium', function () {
  this.timeout(60_000);
  let api: Target;
  let browser: Browser;
  let context: BrowserContext;
  let watched: WatchedPage;
  let page: Page;

  before(async function () {
    if (!chromiumInstalled()) skipBecause(this, "Debian's chromium is not installed (apt-get install chromium; .ci/run does)");
    buildWebApp();
    api = await startTarget();
    browser = await launch();
    context = await browser.newContext();
    watched = await watchedPage(context);
    page = watched.page;
  });

  after(async function () {
    await browser?.close();
    await api?.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await recordFailure(watched, this.currentTest.fullTitle());
    assertCleanPage(watched);
  });

  const notice = () => page.locator('#notice');

  const expectFailedLoad = (status: number) => expectFailedLoadIn(watched, status);
  const items = () => api.store.query('items', { limit: 100 });

  /** Signs out and waits until the app has finished doing so (the server may be slow to answer). */
  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#nav').waitFor({ state: 'hidden' });
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), false, 'the navigation is not shown when signed out');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  }

  async function signIn(): Promise<void> {
    await page.goto(`${api.url}/#/login`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('creates an account, refusing a weak password in words first', async function () {
    await page.goto(`${api.url}/#/register`);
    await screenshot(page, '1-register');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel(/^Password/).fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    await assert.doesNotReject(notice().filter({ hasText: 'Choose a stronger password.' }).waitFor());
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await notice()
      .filter({ hasText: `We sent a mail to ${EMAIL}` })
      .waitFor();
    const accounts = await api.store.query('users', { limit: 10 });
    assert.equal(accounts.documents.length, 1);
    assert.equal(accounts.documents[0]!.data.email, EMAIL);
    assert.equal(accounts.documents[0]!.data.emailVerifiedAt, null);
    expectFailedLoad(400); // the weak password's answer
  });

  it('confirms the address from the link in the mail, and takes the token out of the address bar', async function () {
    const token = linkToken(await lastMailTo(api.outbox, EMAIL, VERIFY_SUBJECT), 'verify-email');
    await page.goto(`${api.url}/#/verify-email?token=${token}`);
    await notice().filter({ hasText: 'Your address is confirmed.' }).waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.ok(!page.url().includes(token), page.url());
    const [account] = (await api.store.query('users', { limit: 1 })).documents;
    assert.equal(typeof account!.data.emailVerifiedAt, 'string');
    // The link works once: opened again, it says so in words.
    await page.goto(`${api.url}/#/verify-email?token=${token}`);
    await notice().filter({ hasText: 'This confirmation link has been used' }).waitFor();
    expectFailedLoad(400);
  });

  it('signs in with the session cookie (HttpOnly, Secure, SameSite=Strict; __Host- locally, __session behind Hosting) and keeps no session token in storage, only the device token', async function () {
    await signIn();
    await screenshot(page, '2-login');
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    const [cookie] = await context.cookies();
    assert.equal(cookie?.name, onEmulators() ? '__session' : '__Host-session');
    assert.deepEqual([cookie?.httpOnly, cookie?.secure, cookie?.sameSite, cookie?.path], [true, true, 'Strict', '/']);
    const stored = await page.evaluate(() => ({ local: { ...localStorage }, session: { ...sessionStorage } }));
    assert.deepEqual(stored.session, {}, 'nothing in sessionStorage');
    assert.deepEqual(Object.keys(stored.local), ['bastion.deviceTokens'], 'only the device token in localStorage');
    const deviceTokens = JSON.parse(stored.local['bastion.deviceTokens']) as Record<string, string>;
    assert.deepEqual(Object.keys(deviceTokens), [EMAIL]);
    assert.match(deviceTokens[EMAIL]!, /^d1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/, 'a device token, not an access, refresh or CSRF token');
  });

  it('creates, pages through, edits and deletes items, as stored', async function () {
    for (let i = 1; i <= 7; i += 1) {
      await page.getByRole('form', { name: 'New item' }).getByLabel('Name').fill(`Lamp ${i}`);
      await page.getByRole('form', { name: 'New item' }).getByLabel('Description').fill(`Light number ${i}`);
      await page.getByRole('button', { name: 'Add item' }).click();
      await page.locator('ul[aria-label="Items"] strong', { hasText: `Lamp ${i}` }).waitFor();
    }
    assert.equal((await items()).documents.length, 7);
    await screenshot(page, '3-items');
    assert.equal(await page.locator('ul[aria-label="Items"] li').count(), 5, 'a page of five');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('Page 2').waitFor();
    assert.deepEqual(await page.locator('ul[aria-label="Items"] strong').allTextContents(), ['Lamp 2', 'Lamp 1']);
    await page.getByRole('button', { name: 'Previous' }).click();
    await page.getByText('Page 1').waitFor();

    const row = page.locator('ul[aria-label="Items"] li', { hasText: 'Lamp 7' });
    await row.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('form', { name: 'Edit Lamp 7' }).getByLabel('Name').fill('Reading lamp');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('ul[aria-label="Items"] strong', { hasText: 'Reading lamp' }).waitFor();
    assert.ok((await items()).documents.some((d) => d.data.name === 'Reading lamp'));

    await page.locator('ul[aria-label="Items"] li', { hasText: 'Reading lamp' }).getByRole('button', { name: 'Delete' }).click();
    await page.locator('ul[aria-label="Items"] strong', { hasText: 'Reading lamp' }).waitFor({ state: 'detached' });
    assert.equal((await items()).documents.length, 6);
  });

  it('uploads an image with a progress bar and shows the stored image back', async function () {
    await page.getByRole('link', { name: 'Uploads' }).click();
    await page.getByRole('heading', { name: 'Uploads' }).waitFor();
    await page.getByRole('button', { name: 'Upload' }).click();
    await notice().filter({ hasText: 'Choose an image file first.' }).waitFor();
    await page.getByLabel('Image file').setInputFiles(`${FIXTURES}photo.jpg`);
    await page.getByRole('button', { name: 'Upload' }).click();
    await notice().filter({ hasText: 'Stored photo.jpg.' }).waitFor();
    assert.equal(await page.locator('progress').evaluate((p: HTMLProgressElement) => p.value), 1);
    const image = page.locator('ul[aria-label="Uploads"] img');
    await image.waitFor();
    await page.waitForFunction(() => document.querySelector<HTMLImageElement>('ul[aria-label="Uploads"] img')?.naturalWidth === 48);
    assert.match(String(await image.getAttribute('src')), /^blob:/);
    await screenshot(page, '4-uploads');
    const uploads = await api.store.query('uploads', { limit: 10 });
    assert.equal(uploads.documents.length, 1);
    assert.equal((await api.blobs.list('uploads/')).length, 1);
  });

  it('says in words why a renamed file is refused, and stores nothing', async function () {
    await page
      .getByLabel('Image file')
      .setInputFiles({ name: 'renamed.gif', mimeType: 'image/gif', buffer: Buffer.from(await (await import('node:fs/promises')).readFile(`${FIXTURES}picture.png`)) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await notice().filter({ hasText: "The file's name does not match what the file is" }).waitFor();
    assert.equal((await api.store.query('uploads', { limit: 10 })).documents.length, 1);
    expectFailedLoad(415); // the refused file's answer
  });

  it('sets up two-step sign-in: QR code, then recovery codes shown once', async function () {
    const left = STEP_MS - (Date.now() % STEP_MS);
    if (left < 8_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    assert.match(String(await qr.getAttribute('src')), /^data:image\/png;base64,/);
    const secret = String(await page.locator('[data-secret]').getAttribute('data-secret'));
    await screenshot(page, '5-mfa-enroll');
    await page.getByLabel('Code from the app').fill(currentCode(secret, Date.now() - STEP_MS));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = page.getByLabel('Recovery codes');
    await codes.waitFor();
    assert.equal((await codes.textContent())!.split('\n').length, 10);
    await screenshot(page, '6-recovery-codes');
    const [user] = (await api.store.query('users', { limit: 1 })).documents;
    assert.ok(user!.data.mfa, 'MFA is on in the store');
    secretForLater = secret;
    recoveryCodes = (await codes.textContent())!.split('\n');
  });

  let secretForLater = '';
  let recoveryCodes: string[] = [];

  it('signs out (the cookie goes), and back in with a TOTP code', async function () {
    await signOut();
    assert.deepEqual(await context.cookies(), [], 'the session cookie is cleared');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await signIn();
    await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
    await screenshot(page, '7-mfa-challenge');
    await page.getByLabel(/Code from your authenticator app/).fill(currentCode(secretForLater, Date.now() + STEP_MS));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    await page.locator('ul[aria-label="Items"] li').nth(4).waitFor(); // the list loads after the screen
    assert.equal(await page.locator('ul[aria-label="Items"] li').count(), 5);
  });

  it('signs in with a recovery code instead, which then is spent', async function () {
    await signOut();
    await signIn();
    await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
    await page.getByLabel(/Code from your authenticator app/).fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Items' }).waitFor();

    await signOut();
    await signIn();
    await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
    await page.getByLabel(/Code from your authenticator app/).fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await notice().filter({ hasText: 'That code is wrong, expired or was used already.' }).waitFor();
    expectFailedLoad(401);
  });

  it('resets a forgotten password from the mailed link (with a recovery code, since two-step sign-in is on), then signs in with it', async function () {
    const chosen = 'a brand new passphrase for ada';
    await page.goto(`${api.url}/#/login`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    // The sign-in form has an Email field too, and stays until the hash change is handled: look in this form only.
    const forgot = page.getByRole('form', { name: 'Reset your password' });
    await forgot.getByLabel('Email').fill(EMAIL);
    await forgot.getByRole('button', { name: 'Send me a link' }).click();
    await notice()
      .filter({ hasText: `If ${EMAIL} has an account` })
      .waitFor();
    const token = linkToken(await lastMailTo(api.outbox, EMAIL, 'Reset your password'), 'reset-password');
    await page.goto(`${api.url}/#/reset-password?token=${token}`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    assert.ok(!page.url().includes(token), 'the token is out of the address bar');
    await screenshot(page, '9-reset-password');
    await page.getByLabel(/^New password/).fill(chosen);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await notice().filter({ hasText: 'also give a code from your authenticator app' }).waitFor();
    expectFailedLoad(401);
    await page.getByLabel(/^If two-step sign-in is on/).fill(recoveryCodes[1]!);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await notice().filter({ hasText: 'Your password is changed' }).waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(chosen);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
    await page.getByLabel(/Code from your authenticator app/).fill(recoveryCodes[2]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Items' }).waitFor();
  });

  it('moves the account to a new address from its page, confirmed from the link mailed there, and changes its password', async function () {
    const password = 'a brand new passphrase for ada';
    const moved = 'ada.lovelace@example.com';
    await page.goto(`${api.url}/#/account`);
    const changeEmail = page.getByRole('form', { name: 'Change your email address' });
    await changeEmail.getByLabel('New email address').fill(moved);
    await changeEmail.getByLabel('Current password').fill(password);
    await changeEmail.getByRole('button', { name: 'Change address' }).click();
    await notice()
      .filter({ hasText: `We sent a link to ${moved}` })
      .waitFor();
    const token = linkToken(await lastMailTo(api.outbox, moved, 'Confirm your new email address'), 'confirm-email');
    await page.goto(`${api.url}/#/confirm-email?token=${token}`);
    await notice()
      .filter({ hasText: `Your account's address is now ${moved}.` })
      .waitFor();
    await page.getByText(`Signed in as ${moved}`).waitFor();
    await lastMailTo(api.outbox, EMAIL, 'The email address of your account was changed');

    const changePassword = page.getByRole('form', { name: 'Change your password' });
    await changePassword.getByLabel('Current password').fill(password);
    await changePassword.getByLabel(/^New password/).fill('yet another passphrase for ada');
    await changePassword.getByRole('button', { name: 'Change password' }).click();
    await notice().filter({ hasText: 'Your password is changed' }).waitFor();
    await screenshot(page, '10-account');
  });

  it('lists where the account is signed in, and ends another session from the account page', async function () {
    const moved = 'ada.lovelace@example.com';
    const password = 'yet another passphrase for ada';
    // A second sign-in, from a phone: with MFA on, through a recovery code.
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    const challenge = (await api.request('POST', '/auth/login', { body: { email: moved, password }, headers: { 'user-agent': iphone } })).json.challenge as string;
    const phone = await api.request('POST', '/auth/mfa/verify', { body: { challenge, recoveryCode: recoveryCodes[3] }, headers: { 'user-agent': iphone } });
    assert.equal(phone.status, 200, phone.text);
    // The account page is open from the last spec: leave it, so that it lists the sessions afresh.
    await page.goto(`${api.url}/#/items`);
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    await page.goto(`${api.url}/#/account`);
    const sessions = page.getByRole('region', { name: 'Sessions' });
    await sessions.getByText('(this session)').waitFor();
    await sessions.getByRole('button', { name: 'End the session of Safari 17 on iOS (iPhone)' }).click();
    await notice().filter({ hasText: 'Ended the session of Safari 17 on iOS (iPhone).' }).waitFor();
    assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken: phone.json.refreshToken } })).status, 401, 'the phone is signed out');
    await sessions.getByRole('button', { name: /^End the session of Safari/ }).waitFor({ state: 'detached' });
  });

  it('downloads the data of the account, then deletes the account with everything in it', async function () {
    const moved = 'ada.lovelace@example.com';
    const password = 'yet another passphrase for ada';
    await page.goto(`${api.url}/#/items`);
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    await page.goto(`${api.url}/#/account`);
    const data = page.getByRole('region', { name: 'Your data' });
    const [download] = await Promise.all([page.waitForEvent('download'), data.getByRole('button', { name: 'Download my data' }).click()]);
    assert.equal(download.suggestedFilename(), 'account-export.json');
    const exported = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8')) as { account: { email: string } };
    assert.equal(exported.account.email, moved);

    const remove = page.getByRole('form', { name: 'Delete your account' });
    await remove.getByLabel('Current password').fill(password);
    await remove.getByRole('button', { name: 'Delete my account' }).click();
    await notice().filter({ hasText: 'Your account and everything in it are deleted.' }).waitFor();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal((await api.store.query('users', { limit: 10 })).documents.length, 0);
    assert.deepEqual(await api.blobs.list('uploads/'), []);
  });
});

describe('web client in Chromium, when rate limited', function () {
  this.timeout(60_000);

  it('says when to retry', async function () {
    if (!chromiumInstalled()) skipBecause(this, "Debian's chromium is not installed (apt-get install chromium; .ci/run does)");
    // It needs a server of its own with a tiny limit; the emulator stack runs one configuration.
    if (onEmulators()) skipBecause(this, 'it needs a server of its own with a tiny rate limit; npm test runs it');
    buildWebApp();
    const api = await startApi({ RATE_LIMIT_API_PER_MINUTE: '3' });
    const browser = await launch();
    try {
      const watched = await watchedPage(await browser.newContext());
      const { page } = watched;
      await page.goto(`${api.url}/#/login`);
      for (let i = 0; i < 4; i += 1) {
        await page.getByLabel('Email').fill('nobody@example.com');
        await page.getByLabel('Password').fill('not-the-password-at-all');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('#notice:not([hidden])').waitFor();
      }
      await page.locator('#notice', { hasText: /Too many requests\. Try again in \d+ seconds\./ }).waitFor();
      await screenshot(page, '8-rate-limited');
      assert.deepEqual(watched.cspViolations, []);
      // The refused sign-ins, and nothing else.
      assert.ok(
        watched.consoleErrors.every((line) => /status of (401|429)/.test(line)),
        watched.consoleErrors.join('\n'),
      );
    } finally {
      await browser.close();
      await api.close();
    }
  });
});
