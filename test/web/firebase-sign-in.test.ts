/**
 * The web client's Firebase sign-in, in real headless Chromium against firebase-tools' Auth
 * emulator and the local server (FIREBASE_AUTH=on, FIREBASE_WEB_API_KEY): the page offers it
 * only where the API says so, signs a Firebase user in with Firebase Auth's REST API, calls the
 * API with the ID token (as firebase:<uid>), stays signed in over a reload by its refresh token
 * (kept for the tab only), signs out, and says in words why Firebase refused (a wrong password, a
 * disabled user, a second factor it cannot take). The page's CSP lets it reach the Auth emulator
 * and nothing else: no violation, no console error beyond the refusals provoked.
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PROJECT_ID, startAuthEmulator } from '../../scripts/emulators.ts';
import { FIREBASE_TOOLS_VERSION, installedFirebaseTools } from '../../scripts/firebase-tools.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { identityToolkit } from '../support/auth-emulator.ts';
import { skipBecause } from '../support/skip.ts';
import { buildWebApp } from '../support/web.ts';
import { assertCleanPage, chromiumInstalled, expectFailedLoad, launch, screenshot, watchedPage, type WatchedPage } from './support.ts';

const PASSWORD = 'correct horse battery staple';

describe('the web client’s Firebase sign-in in Chromium, on the Auth emulator', function () {
  this.timeout(150_000);
  let emulator: { host: string; stop(): Promise<void> } | undefined;
  let api: TestApi | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let watched: WatchedPage;
  let page: Page;
  const previousHost = process.env.FIREBASE_AUTH_EMULATOR_HOST;

  before(async function () {
    if (!chromiumInstalled()) skipBecause(this, "Debian's chromium is not installed (apt-get install chromium; .ci/run does)");
    // Installed by `npm run emulators` or .ci/run (whose Emulator Suite leg runs this spec); a spec installs nothing.
    const firebaseTools = installedFirebaseTools();
    if (!firebaseTools) skipBecause(this, `firebase-tools ${FIREBASE_TOOLS_VERSION} is not installed (npm run emulators installs it; .ci/run's Emulator Suite leg runs this spec)`);
    buildWebApp();
    emulator = await startAuthEmulator(firebaseTools);
    process.env.FIREBASE_AUTH_EMULATOR_HOST = emulator.host;
    api = await startApi({ FIREBASE_AUTH: 'on', GCLOUD_PROJECT: PROJECT_ID, FIREBASE_WEB_API_KEY: 'emulator-web-api-key', FIREBASE_AUTH_EMULATOR_HOST: emulator.host });
    browser = await launch();
  });

  after(async function () {
    await browser?.close();
    await api?.close();
    if (previousHost === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
    else process.env.FIREBASE_AUTH_EMULATOR_HOST = previousHost;
    await emulator?.stop();
  });

  beforeEach(async function () {
    context = await browser!.newContext();
    watched = await watchedPage(context);
    page = watched.page;
  });

  afterEach(async function () {
    assertCleanPage(watched);
    await context?.close();
  });

  const asOwner = (path: string, body: unknown) => identityToolkit(emulator!.host, path, body);
  let counter = 0;
  /** A user of the Firebase project, its address confirmed (or not), with these custom claims. */
  async function firebaseUser(update: Record<string, unknown> = {}, { verified = true } = {}): Promise<{ uid: string; email: string }> {
    counter += 1;
    const email = `web-${counter}-${Date.now()}@example.com`;
    const created = await asOwner(`projects/${PROJECT_ID}/accounts`, { email, password: PASSWORD });
    await asOwner(`projects/${PROJECT_ID}/accounts:update`, { localId: created.localId, emailVerified: verified, ...update });
    return { uid: created.localId as string, email };
  }

  const notice = () => page.locator('#notice');
  const firebaseForm = () => page.getByRole('form', { name: 'Sign in with Firebase' });

  async function signInWithFirebase(email: string, password = PASSWORD): Promise<void> {
    await page.goto(`${api!.url}/#/login`);
    await firebaseForm().getByLabel('Email').fill(email);
    await firebaseForm().getByLabel('Password').fill(password);
    await firebaseForm().getByRole('button', { name: 'Sign in with Firebase' }).click();
  }

  it('is not offered where the API takes no Firebase sign-in, and the page may then connect to its own origin only', async function () {
    const plain = await startApi();
    try {
      const answer = await page.goto(`${plain.url}/#/login`);
      assert.doesNotMatch(String(answer?.headers()['content-security-policy']), /connect-src/);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      // The start-up has asked (GET /auth/web-config) before the screen shows.
      assert.equal(await firebaseForm().count(), 0);
    } finally {
      await plain.close();
    }
  });

  it('signs a Firebase user in, calls the API with its ID token as firebase:<uid>, and says whose account it is', async function () {
    const answer = await page.goto(`${api!.url}/#/login`);
    assert.match(String(answer?.headers()['content-security-policy']), new RegExp(`connect-src 'self' http://${emulator!.host.replace(/\./g, '\\.')}(;|$)`));
    const { uid, email } = await firebaseUser({ customAttributes: JSON.stringify({ roles: ['user'] }) });
    await signInWithFirebase(email);
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    await screenshot(page, 'firebase-1-signed-in');
    await page.getByRole('form', { name: 'New item' }).getByLabel('Name').fill('Firebase lamp');
    await page.getByRole('form', { name: 'New item' }).getByLabel('Description').fill('Signed in with Firebase');
    await page.getByRole('button', { name: 'Add item' }).click();
    await page.locator('ul[aria-label="Items"] strong', { hasText: 'Firebase lamp' }).waitFor();
    const stored = (await api!.store.query('items', { limit: 10 })).documents.map((item) => item.data);
    assert.deepEqual(
      stored.map(({ name, ownerId }) => ({ name, ownerId })),
      [{ name: 'Firebase lamp', ownerId: `firebase:${uid}` }],
    );
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByText(`Signed in as ${email}`).waitFor();
    await page.getByText('managed with Firebase Auth').waitFor();
    assert.equal(await page.getByRole('form', { name: 'Change your password' }).count(), 0, "a bastion account's forms are not offered");
    assert.equal(await page.getByRole('link', { name: 'Users' }).isVisible(), false, 'not an admin');
  });

  it('stays signed in over a reload by the refresh token kept for the tab (a new ID token), and signs out', async function () {
    const { email } = await firebaseUser();
    await signInWithFirebase(email);
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    const kept = await page.evaluate(() => ({ session: { ...sessionStorage }, local: { ...localStorage } }));
    assert.deepEqual(Object.keys(kept.session), ['bastion.firebaseRefreshToken'], 'the refresh token, for this tab only');
    assert.deepEqual(kept.local, {}, 'nothing outlives the tab');
    assert.deepEqual(await context.cookies(), [], 'no session cookie: the ID token is the bearer');

    const renewals: string[] = [];
    page.on('request', (request) => request.url().includes('/securetoken.googleapis.com/') && renewals.push(request.method()));
    await page.reload();
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    assert.deepEqual(renewals, ['POST'], 'one renewal from the refresh token');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(await page.evaluate(() => ({ ...sessionStorage })), {}, 'signing out forgets the refresh token');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.locator('#nav').isVisible(), false);
  });

  it('says in words why Firebase refused: a wrong password, a disabled user, a second factor the page cannot take', async function () {
    const { email } = await firebaseUser();
    await signInWithFirebase(email, 'not the password at all');
    await notice().filter({ hasText: 'The email or the password is wrong.' }).waitFor();
    expectFailedLoad(watched, 400);

    const disabled = await firebaseUser({ disableUser: true });
    await signInWithFirebase(disabled.email);
    await notice().filter({ hasText: 'This account is disabled.' }).waitFor();
    expectFailedLoad(watched, 400);

    const withSecondFactor = await firebaseUser({ mfa: { enrollments: [{ mfaEnrollmentId: 'phone-1', phoneInfo: '+15555550100', displayName: 'phone' }] } });
    await signInWithFirebase(withSecondFactor.email);
    await notice().filter({ hasText: 'This account signs in with a second factor' }).waitFor();
    await screenshot(page, 'firebase-2-second-factor');
    assert.equal(await page.locator('#nav').isVisible(), false, 'nobody is signed in');
    assert.deepEqual(await page.evaluate(() => ({ ...sessionStorage })), {});
  });

  it('holds a Firebase user whose address is unconfirmed to reading, and says so', async function () {
    const { email } = await firebaseUser({}, { verified: false });
    await signInWithFirebase(email);
    await page.getByRole('heading', { name: 'Items' }).waitFor();
    await page.getByRole('form', { name: 'New item' }).getByLabel('Name').fill('Lamp');
    await page.getByRole('form', { name: 'New item' }).getByLabel('Description').fill('Not yet');
    await page.getByRole('button', { name: 'Add item' }).click();
    await notice().filter({ hasText: 'follow the link Firebase mailed you' }).waitFor();
    expectFailedLoad(watched, 403);
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByText('not confirmed with Firebase yet').waitFor();
  });
});
