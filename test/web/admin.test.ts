/**
 * The admins' screen in real headless Chromium, over real HTTP: an admin who signed in with a
 * second factor finds an account, disables it (its session stops refreshing, its sign-in is
 * refused), reads its activity, enables it, and signs it out everywhere; an account that is not
 * an admin's is not offered the screen. No console error, no CSP violation.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { setRoles } from '../../functions/src/auth/roles.ts';
import { registerVerified } from '../support/outbox.ts';
import { skipBecause } from '../support/skip.ts';
import { startTarget, type Target } from '../support/target.ts';
import { currentCode } from '../support/totp.ts';
import { buildWebApp } from '../support/web.ts';
import { assertCleanPage, chromiumInstalled, launch, screenshot, watchedPage, type WatchedPage } from './support.ts';

const PASSWORD = 'correct-horse-battery-staple-1815';
const ADMIN = 'root@example.com';
const ADA = 'ada@example.com';

describe('the admins’ screen in Chromium', function () {
  this.timeout(60_000);
  let api: Target;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  let recoveryCodes: string[];
  let ada: { id: string; refreshToken: string };

  before(async function () {
    if (!chromiumInstalled()) skipBecause(this, "Debian's chromium is not installed (apt-get install chromium; .ci/run does)");
    buildWebApp();
    api = await startTarget();
    // The first admin, as `npm run admin` makes one, with two-step sign-in on.
    const root = await registerVerified(api, ADMIN, PASSWORD);
    await setRoles(api.store, root.id, ['user', 'admin']);
    const token = (await api.request('POST', '/auth/login', { body: { email: ADMIN, password: PASSWORD } })).json.accessToken as string;
    const secret = (await api.request('POST', '/auth/mfa/enroll', { token })).json.secret as string;
    recoveryCodes = (await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(secret) } })).json.recoveryCodes as string[];
    const registered = await registerVerified(api, ADA, PASSWORD);
    ada = { id: registered.id, refreshToken: (await api.request('POST', '/auth/login', { body: { email: ADA, password: PASSWORD } })).json.refreshToken as string };
    browser = await launch();
    watched = await watchedPage(await browser.newContext());
    page = watched.page;
  });

  after(async function () {
    await browser?.close();
    await api?.close();
  });

  afterEach(function () {
    assertCleanPage(watched);
  });

  const notice = () => page.locator('#notice');

  async function signIn(email: string, secondFactor?: string): Promise<void> {
    await page.goto(`${api.url}/#/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    if (secondFactor) {
      await page.getByLabel(/recovery code/).fill(secondFactor);
      await page.getByRole('button', { name: 'Verify' }).click();
    }
    await page.getByRole('heading', { name: 'Items' }).waitFor();
  }

  it('does not offer the screen to an account that is not an admin', async function () {
    await signIn(ADA);
    assert.equal(await page.getByRole('link', { name: 'Users' }).isVisible(), false);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('lists the accounts and finds one by its address', async function () {
    await signIn(ADMIN, recoveryCodes[0]);
    await page.getByRole('link', { name: 'Users' }).click();
    const accounts = page.getByRole('list', { name: 'Accounts' });
    await accounts.getByText(`${ADA}: user`).waitFor();
    await accounts.getByText(`${ADMIN}: user, admin; two-step sign-in`).waitFor();
    await screenshot(page, 'admin-users');
    assert.equal(await page.getByRole('button', { name: `Disable ${ADMIN}` }).count(), 0, 'no button to disable oneself');
    await page.getByLabel(/^Email address/).fill(ADA.toUpperCase());
    await page.getByRole('button', { name: 'Search' }).click();
    await accounts.getByText(ADMIN).waitFor({ state: 'detached' });
    assert.equal(await accounts.getByRole('listitem').count(), 1);
  });

  it('disables the account: its session stops, its sign-in is refused; enabled, it signs in again', async function () {
    await page.getByRole('button', { name: `Disable ${ADA}` }).click();
    await notice()
      .filter({ hasText: `${ADA} is disabled; 1 session ended.` })
      .waitFor();
    await page.getByText(`${ADA}: user; disabled`).waitFor();
    assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken: ada.refreshToken } })).status, 401);
    const refused = await api.request('POST', '/auth/login', { body: { email: ADA, password: PASSWORD } });
    assert.equal(refused.json.error?.code, 'account_disabled', refused.text);

    await page.getByRole('button', { name: `Activity of ${ADA}` }).click();
    const events = page.getByRole('list', { name: `Activity of ${ADA}` });
    await events.getByText('account disabled (by an admin)').waitFor();
    await events.getByText('sign in refused').waitFor();

    await page.getByRole('button', { name: `Enable ${ADA}` }).click();
    await notice()
      .filter({ hasText: `${ADA} can sign in again.` })
      .waitFor();
    const back = await api.request('POST', '/auth/login', { body: { email: ADA, password: PASSWORD } });
    assert.equal(back.status, 200, back.text);
    ada.refreshToken = back.json.refreshToken as string;
  });

  it('signs the account out everywhere', async function () {
    await page.getByRole('button', { name: `Sign out ${ADA} everywhere` }).click();
    await notice()
      .filter({ hasText: `${ADA} is signed out: 1 session ended.` })
      .waitFor();
    assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken: ada.refreshToken } })).status, 401);
  });

  it('lists only the disabled accounts when asked', async function () {
    await page.getByLabel(/^Email address/).fill('');
    await page.getByLabel('Only disabled accounts').check();
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('list', { name: 'Accounts' }).getByText('No account found.').waitFor();
  });
});
