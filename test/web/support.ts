/**
 * Real headless Chromium (Debian's `chromium` package, driven by playwright-core: nothing
 * downloads a browser) for the web client's specifications. Every page records its console
 * errors and CSP violations, so a test can demand there were none.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
  /** Requests that never got an answer (refused, aborted, cut), for the report of a failed step. */
  failedRequests: string[];
}

export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const watched: WatchedPage = { page, consoleErrors: [], cspViolations: [], failedRequests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watched.consoleErrors.push(`uncaught: ${error.message}`));
  page.on('crash', () => watched.consoleErrors.push('the page crashed'));
  page.on('requestfailed', (request) => watched.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
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

/**
 * After a failed step, what the page was doing: a screenshot, its text, and the requests that
 * failed, in test/.artifacts/failures/ and on stderr — so a failure on a CI machine can be read afterwards.
 * Each look is bounded: a page that hangs is reported as such.
 */
export async function recordFailure(watched: WatchedPage | undefined, title: string): Promise<void> {
  if (!watched) return;
  const folder = new URL('../.artifacts/failures/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  const name = title.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
  const within = <T>(work: Promise<T>, fallback: T) => Promise.race([work.catch(() => fallback), new Promise<T>((resolve) => setTimeout(() => resolve(fallback), 3000))]);
  await within(watched.page.screenshot({ path: new URL(`${name}.png`, folder).pathname, fullPage: true }), undefined);
  const text = await within(
    watched.page.evaluate(() => document.body.innerText),
    '(the page did not answer within 3 s)',
  );
  const report = [`url: ${watched.page.url()}`, `text:\n${text}`, `failed requests:\n${watched.failedRequests.join('\n')}`, `console errors:\n${watched.consoleErrors.join('\n')}`];
  writeFileSync(new URL(`${name}.txt`, folder).pathname, `${report.join('\n\n')}\n`);
  // Also on stderr: a CI log may be all there is to read of a failure.
  process.stderr.write(`\n--- the page when "${title}" failed ---\n${report.join('\n\n')}\n---\n`);
}

const SCREENSHOTS = new URL('../.artifacts/screenshots/', import.meta.url);

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}
