/**
 * The web app's files on the local server: the page and its modules with the headers of a page
 * (CSP default-src 'self', no inline anything), nothing outside the built folder, errors as JSON.
 */
import assert from 'node:assert/strict';
import { injectApi, type InjectedApi } from '../support/inject.ts';
import { buildWebApp } from '../support/web.ts';

describe('web app files (local server)', function () {
  let api: InjectedApi;

  before(async function () {
    this.timeout(60_000);
    buildWebApp();
    api = await injectApi();
  });

  after(async function () {
    await api?.close();
  });

  it('serves the page at / with the page CSP: self only, no inline script or style, no unsafe-*', async function () {
    const response = await api.request('GET', '/');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-/);
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.match(String(response.headers['strict-transport-security']), /max-age=\d{8,}; includeSubDomains/);
    // The page itself has no inline script or style to allow.
    assert.doesNotMatch(response.text, /<script(?![^>]*\bsrc=)[^>]*>/i);
    assert.doesNotMatch(response.text, /<style|\sstyle=/i);
  });

  it('serves the modules and stylesheet with their types', async function () {
    assert.equal((await api.request('GET', '/main.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await api.request('GET', '/screens/items.js')).status, 200);
    assert.equal((await api.request('GET', '/app.css')).headers['content-type'], 'text/css; charset=utf-8');
  });

  it('serves nothing else: unknown files, paths that climb out, and writes', async function () {
    for (const path of ['/nothing.js', '/../package.json', '/%2e%2e/package.json', '/main.ts', '/.env']) {
      const response = await api.request('GET', path);
      assert.equal(response.status, 404, path);
      assert.equal(response.json.error.code, 'not_found', path);
      assert.match(String(response.headers['content-security-policy']), /default-src 'none'/, 'errors are JSON, with the JSON CSP');
    }
    assert.equal((await api.request('POST', '/', { body: {} })).status, 405);
  });
});
