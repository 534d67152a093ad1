/**
 * Real headless Chromium (Debian's `chromium` package, driven by playwright-core: nothing
 * downloads a browser) for the web client's specifications. Every page records its console
 * errors and CSP violations, so a test can demand there were none.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumInstalled = () => existsSync(CHROMIUM);

/** Flags for a sandboxed machine with a closed network (see the README). */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

export interface WatchedPage {
  page: Page;
  /** Console errors (Chromium reports failed loads and CSP refusals there too). */
  consoleErrors: string[];
  /** `securitypolicyviolation` events the page saw. */
  cspViolations: string[];
}

export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const watched: WatchedPage = { page, consoleErrors: [], cspViolations: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watched.consoleErrors.push(`uncaught: ${error.message}`));
  // Runs before the page's own scripts, outside its CSP: reports violations back to the test.
  await page.exposeFunction('__reportCspViolation', (text: string) => watched.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return watched;
}

/** What every browser spec demands after each step: the page met no CSP violation and logged no console error. */
export function assertCleanPage(watched: WatchedPage | undefined): void {
  assert.deepEqual(watched?.cspViolations ?? [], [], 'no CSP violation');
  assert.deepEqual(watched?.consoleErrors ?? [], [], 'no console error');
}

/**
 * Chromium logs every non-2xx answer to fetch as a console error. Where a flow provokes one on
 * purpose, take exactly that line off the list; anything else still fails the test.
 */
export function expectFailedLoad(watched: WatchedPage, status: number): void {
  const index = watched.consoleErrors.findIndex((line) => line.includes(`status of ${status}`));
  assert.notEqual(index, -1, `the browser saw the ${status}`);
  watched.consoleErrors.splice(index, 1);
}

const SCREENSHOTS = new URL('../.artifacts/screenshots/', import.meta.url);

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}
