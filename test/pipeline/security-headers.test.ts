/**
 * Security headers: every response, success or error, of every function, carries the exact
 * values the README states (helmet configured for an API, not for HTML sites).
 */
import assert from 'node:assert/strict';
import { recordHelmetHeaders } from '../../functions/src/pipeline/security-headers.ts';
import { API_SECURITY_HEADERS as API_HEADERS, type Response } from '../support/api.ts';
import { injectApi, type InjectedApi } from '../support/inject.ts';

function assertApiHeaders(response: Response): void {
  for (const [name, value] of Object.entries(API_HEADERS)) {
    assert.equal(response.headers[name], value, `${name} on a ${response.status}`);
  }
  assert.equal(response.headers['x-powered-by'], undefined);
  // Headers helmet sets for HTML pages or long-gone browsers mean nothing on JSON.
  assert.equal(response.headers['x-xss-protection'], undefined);
  assert.equal(response.headers['x-dns-prefetch-control'], undefined);
}

describe('security headers', function () {
  let api: InjectedApi;
  let token: string;

  before(async function () {
    api = await injectApi();
    token = await api.token();
  });

  after(async function () {
    await api.close();
  });

  it('are exact on a successful JSON response', async function () {
    const response = await api.request('GET', '/items', { token });
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assertApiHeaders(response);
  });

  it('are exact on a public route of another function', async function () {
    const response = await api.request('GET', '/auth/.well-known/jwks.json');
    assert.equal(response.status, 200);
    assertApiHeaders(response);
  });

  it('are exact on errors: 401, 404 (in and outside a function), 405, 400', async function () {
    const responses = await Promise.all([
      api.request('GET', '/items'),
      api.request('GET', '/items/a/b/c', { token }),
      api.request('GET', '/nowhere'),
      api.request('PUT', '/items', { token }),
      api.request('POST', '/items', { token, raw: '{', headers: { 'content-type': 'application/json' } }),
    ]);
    assert.deepEqual(
      responses.map((r) => r.status),
      [401, 404, 404, 405, 400],
    );
    for (const response of responses) {
      assertApiHeaders(response);
      assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    }
  });

  it('are exact on a 204 without a body', async function () {
    const created = await api.request('POST', '/items', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
    const response = await api.request('DELETE', `/items/${created.json.id}`, { token });
    assert.equal(response.status, 204);
    assert.equal(response.text, '');
    assertApiHeaders(response);
  });

  it('are exact on a 503 when the store fails', async function () {
    const failing = await injectApi();
    try {
      const failingToken = await failing.token();
      await failing.store.close();
      const response = await failing.request('GET', '/items', { token: failingToken });
      assert.equal(response.status, 503);
      assertApiHeaders(response);
    } finally {
      await failing.close();
    }
  });

  describe('for pages we serve', function () {
    const page = Object.fromEntries(recordHelmetHeaders('page').map(([name, value]) => [name.toLowerCase(), value]));

    it("allow only the origin itself: default-src 'self', no inline script or style, no framing", function () {
      const csp = page['content-security-policy']!;
      const directives = Object.fromEntries(csp.split(';').map((d) => [d.trim().split(' ')[0], d.trim().split(' ').slice(1)]));
      assert.deepEqual(directives['default-src'], ["'self'"]);
      assert.deepEqual(directives['script-src'], ["'self'"]);
      assert.deepEqual(directives['style-src'], ["'self'"]);
      assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
      assert.deepEqual(directives['object-src'], ["'none'"]);
      assert.doesNotMatch(csp, /unsafe-|\*/);
    });

    it('keep HSTS, DENY framing, nosniff, no-referrer and no-store', function () {
      for (const name of ['strict-transport-security', 'x-frame-options', 'x-content-type-options', 'referrer-policy', 'cache-control']) {
        assert.equal(page[name], API_HEADERS[name], name);
      }
    });
  });
});
