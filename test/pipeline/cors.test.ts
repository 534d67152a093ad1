/**
 * CORS from the configured allowlist: allowed origins are echoed (never `*`, since credentials
 * are allowed), refused ones get no CORS headers, and a state-changing request from a refused
 * origin is refused by the server itself, writing nothing. The headers are negotiated by the
 * `cors` package; none of its defaults (every method, the announced headers echoed back, a
 * preflight answered whatever the path) may show, and its headers go out in the answer's one
 * `writeHead`, never through `setHeader`.
 */
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import { ALLOWED_ORIGIN, startApi, type TestApi } from '../support/api.ts';

const REFUSED_ORIGIN = 'https://evil.example.net';
const ITEM = { name: 'Desk lamp', description: 'Warm light' };

describe('CORS', function () {
  let api: TestApi;
  let token: string;

  beforeEach(async function () {
    api = await startApi();
    token = await api.token();
  });

  afterEach(async function () {
    await api.close();
  });

  async function storedItems(): Promise<number> {
    return (await api.store.query('items', { limit: 100 })).documents.length;
  }

  describe('simple requests', function () {
    it('echo an allowed origin with credentials and the headers clients may read', async function () {
      const response = await api.request('GET', '/items', { token, headers: { origin: ALLOWED_ORIGIN } });
      assert.equal(response.status, 200);
      assert.equal(response.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.equal(response.headers['access-control-allow-credentials'], 'true');
      const exposed = String(response.headers['access-control-expose-headers']).split(', ');
      for (const name of ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy']) {
        assert.ok(exposed.includes(name), name);
      }
      assert.equal(response.headers.vary, 'Origin');
    });

    it('give a refused origin no CORS headers at all, and never a wildcard', async function () {
      const response = await api.request('GET', '/items', { token, headers: { origin: REFUSED_ORIGIN } });
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.equal(response.headers['access-control-allow-credentials'], undefined);
      assert.equal(response.headers['access-control-expose-headers'], undefined);
      assert.equal(response.headers.vary, 'Origin');
    });

    it('vary on Origin even when none is sent, so caches never mix answers', async function () {
      const response = await api.request('GET', '/items', { token });
      assert.equal(response.headers.vary, 'Origin');
      assert.equal(response.headers['access-control-allow-origin'], undefined);
    });

    it('treat an origin that only resembles an allowed one as refused', async function () {
      for (const origin of [`${ALLOWED_ORIGIN}.evil.net`, ALLOWED_ORIGIN.replace('https', 'http'), `${ALLOWED_ORIGIN}:8443`, 'null']) {
        const response = await api.request('GET', '/items', { token, headers: { origin } });
        assert.equal(response.headers['access-control-allow-origin'], undefined, origin);
      }
    });
  });

  describe('preflight', function () {
    it('answers an allowed origin with 204 and exactly the methods the path takes', async function () {
      const collection = await api.request('OPTIONS', '/items', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(collection.status, 204);
      assert.equal(collection.text, '');
      assert.equal(collection.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.equal(collection.headers['access-control-allow-credentials'], 'true');
      assert.equal(collection.headers['access-control-allow-methods'], 'GET, POST');
      const allowedHeaders = String(collection.headers['access-control-allow-headers']).split(', ');
      for (const name of ['Authorization', 'Content-Type', 'X-CSRF-Token']) assert.ok(allowedHeaders.includes(name), name);
      assert.equal(collection.headers['access-control-max-age'], '600');
      assert.match(String(collection.headers.vary), /^Origin, Access-Control-Request-Method, Access-Control-Request-Headers$/);

      const member = await api.request('OPTIONS', '/items/AAAAAAAAAAAAAAAAAAAA', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PATCH' },
      });
      assert.equal(member.status, 204);
      assert.equal(member.headers['access-control-allow-methods'], 'GET, PATCH, DELETE');
    });

    it('refuses a preflight from an origin outside the allowlist with 403 origin_not_allowed', async function () {
      const response = await api.request('OPTIONS', '/items', {
        headers: { origin: REFUSED_ORIGIN, 'access-control-request-method': 'POST' },
      });
      assert.equal(response.status, 403);
      assert.equal(response.json.error.code, 'origin_not_allowed');
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.equal(response.headers['access-control-allow-methods'], undefined);
    });

    it('answers 404 for a path no route takes', async function () {
      const response = await api.request('OPTIONS', '/items/a/b', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' },
      });
      assert.equal(response.status, 404);
      assert.equal(response.headers['access-control-allow-methods'], undefined);
    });

    it("lists only the path's methods and the API's request headers, whatever the preflight announces", async function () {
      const response = await api.request('OPTIONS', '/items', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-evil, authorization' },
      });
      assert.equal(response.status, 204);
      assert.equal(response.headers['access-control-allow-methods'], 'GET, POST');
      assert.equal(response.headers['access-control-allow-headers'], 'Authorization, Content-Type, X-Request-Id, X-CSRF-Token, X-Firebase-AppCheck');
      assert.equal(response.headers['access-control-expose-headers'], undefined);
      assert.equal(response.headers.allow, 'GET, POST, OPTIONS');
    });

    it('answers a plain OPTIONS (no Access-Control-Request-Method) with Allow and no preflight headers', async function () {
      const response = await api.request('OPTIONS', '/items', { headers: { origin: ALLOWED_ORIGIN } });
      assert.equal(response.status, 204);
      assert.equal(response.headers.allow, 'GET, POST, OPTIONS');
      assert.equal(response.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.equal(response.headers['access-control-allow-methods'], undefined);
      assert.equal(response.headers['access-control-max-age'], undefined);
      assert.equal(response.headers.vary, 'Origin');
    });

    it('answers 404 for a path no route takes, even from a refused origin', async function () {
      const response = await api.request('OPTIONS', '/nothing/here', {
        headers: { origin: REFUSED_ORIGIN, 'access-control-request-method': 'GET' },
      });
      assert.equal(response.status, 404);
      assert.equal(response.headers['access-control-allow-origin'], undefined);
      assert.equal(response.headers['access-control-allow-methods'], undefined);
    });

    it('needs no token: browsers send preflights without credentials', async function () {
      const response = await api.request('OPTIONS', '/items', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' },
      });
      assert.equal(response.status, 204);
    });
  });

  describe('how the headers are written', function () {
    it("go out in the answer's one writeHead: nothing calls setHeader, for an answer or a preflight", async function () {
      const calls: string[] = [];
      const { setHeader, writeHead } = ServerResponse.prototype;
      ServerResponse.prototype.setHeader = function (this: ServerResponse, name: string, value: number | string | readonly string[]) {
        calls.push(`setHeader ${name}`);
        return setHeader.call(this, name, value);
      };
      ServerResponse.prototype.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
        calls.push('writeHead');
        return writeHead.apply(this, args);
      } as ServerResponse['writeHead'];
      let answer, preflight;
      try {
        answer = await api.request('GET', '/items', { token, headers: { origin: ALLOWED_ORIGIN } });
        preflight = await api.request('OPTIONS', '/items', { headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' } });
      } finally {
        ServerResponse.prototype.setHeader = setHeader;
        ServerResponse.prototype.writeHead = writeHead;
      }
      assert.deepEqual([answer.status, preflight.status], [200, 204]);
      assert.equal(answer.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.equal(preflight.headers['access-control-allow-methods'], 'GET, POST');
      assert.deepEqual(calls, ['writeHead', 'writeHead']);
    });
  });

  describe('state-changing requests', function () {
    it('from a refused origin are refused with 403, even with a valid token, and write nothing', async function () {
      const response = await api.request('POST', '/items', { token, body: ITEM, headers: { origin: REFUSED_ORIGIN } });
      assert.equal(response.status, 403);
      assert.equal(response.json.error.code, 'origin_not_allowed');
      assert.equal(await storedItems(), 0);
    });

    it('from an allowed origin go through', async function () {
      const response = await api.request('POST', '/items', { token, body: ITEM, headers: { origin: ALLOWED_ORIGIN } });
      assert.equal(response.status, 201);
      assert.equal(response.headers['access-control-allow-origin'], ALLOWED_ORIGIN);
      assert.equal(await storedItems(), 1);
    });

    it('without an Origin (native and mobile apps) go through', async function () {
      const response = await api.request('POST', '/items', { token, body: ITEM });
      assert.equal(response.status, 201);
      assert.equal(await storedItems(), 1);
    });
  });
});
