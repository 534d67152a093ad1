/**
 * Input validation (zod) before any handler or store call: JSON only where JSON is expected,
 * a size limit, unknown fields refused, params, query and body checked together. Every bad
 * input gets one JSON error shape, `{ error: { code, message, requestId, details? } }`, and
 * nothing is written.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { DocumentStore, Transaction } from '../../functions/src/store/port.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

const VALID = { name: 'Desk lamp', description: 'Warm light' };
const LIMIT = 2048;

/** A real store that counts every call that touches the items collection. */
function countingStore(): { store: DocumentStore; itemCalls: () => number } {
  const inner = memoryStore();
  let calls = 0;
  const count = (collection: string) => {
    if (collection === 'items') calls += 1;
  };
  const store = withOverrides(inner, {
    get: (c, id) => (count(c), inner.get(c, id)),
    create: (c, id, data) => (count(c), inner.create(c, id, data)),
    set: (c, id, data) => (count(c), inner.set(c, id, data)),
    update: (c, id, patch) => (count(c), inner.update(c, id, patch)),
    delete: (c, id) => (count(c), inner.delete(c, id)),
    query: (c, spec) => (count(c), inner.query(c, spec)),
    runTransaction: (work) =>
      inner.runTransaction((tx) =>
        work({
          get: (c, id) => (count(c), tx.get(c, id)),
          create: (c, id, data) => (count(c), tx.create(c, id, data)),
          set: (c, id, data) => (count(c), tx.set(c, id, data)),
          update: (c, id, patch) => (count(c), tx.update(c, id, patch)),
          delete: (c, id) => (count(c), tx.delete(c, id)),
        } as Transaction),
      ),
  });
  return { store, itemCalls: () => calls };
}

/** Sends the body in chunks with no Content-Length (Transfer-Encoding: chunked). */
function sendChunked(url: string, token: string, chunks: string[]): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/items', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      agent: false,
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) });
      });
    });
    // The server may answer and close before every chunk is out; that is the point.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('validation', function () {
  let api: TestApi;
  let token: string;
  let itemCalls: () => number;

  beforeEach(async function () {
    const counting = countingStore();
    itemCalls = counting.itemCalls;
    api = await startApi({ BODY_LIMIT_BYTES: String(LIMIT) }, { store: counting.store });
    token = await api.token();
  });

  afterEach(async function () {
    await api.close();
  });

  /** Asserts the one error shape, and returns the error. */
  function refused(response: Response, status: number, code: string) {
    assert.equal(response.status, status, response.text);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    const { error } = response.json;
    assert.equal(error.code, code);
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.length > 0);
    assert.equal(error.requestId, response.headers['x-request-id']);
    return error as { code: string; message: string; details?: { location: string; path: string; message: string }[] };
  }

  async function assertNothingStored(): Promise<void> {
    assert.deepEqual((await api.store.query('items', { limit: 10 })).documents, []);
  }

  const post = (raw: string | Buffer, contentType: string | null = 'application/json') =>
    api.request('POST', '/items', { token, raw, headers: contentType === null ? {} : { 'content-type': contentType } });

  describe('JSON bodies', function () {
    it('refuses malformed JSON with 400 invalid_json', async function () {
      for (const raw of ['{"name":', '{name: "x"}', "{'name':'Desk lamp'}", '{"name":"Desk lamp",}']) {
        refused(await post(raw), 400, 'invalid_json');
      }
      await assertNothingStored();
    });

    it('refuses bytes that are not UTF-8 with 400 invalid_json', async function () {
      const raw = Buffer.concat([Buffer.from('{"name":"Desk '), Buffer.from([0xff, 0xfe]), Buffer.from('","description":"Warm light"}')]);
      refused(await post(raw), 400, 'invalid_json');
      await assertNothingStored();
    });

    it('refuses anything not declared as JSON with 415', async function () {
      const json = JSON.stringify(VALID);
      for (const type of [null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/json; charset=latin1']) {
        refused(await post(json, type), 415, 'unsupported_media_type');
      }
      await assertNothingStored();
    });

    it('accepts application/json with a UTF-8 charset', async function () {
      const response = await post(JSON.stringify(VALID), 'application/json; charset=utf-8');
      assert.equal(response.status, 201);
    });

    it('refuses an empty body with 400 body_required', async function () {
      refused(await post(''), 400, 'body_required');
    });

    it('refuses a body over the limit with 413, by its Content-Length, before reading it', async function () {
      const raw = JSON.stringify({ ...VALID, description: 'x'.repeat(LIMIT) });
      refused(await post(raw), 413, 'payload_too_large');
      await assertNothingStored();
    });

    it('refuses a chunked body that grows over the limit with 413', async function () {
      const chunks = ['{"name":"Desk lamp","description":"', ...Array.from({ length: 8 }, () => 'x'.repeat(512)), '"}'];
      refused(await sendChunked(api.url, token, chunks), 413, 'payload_too_large');
      await assertNothingStored();
    });

    it('accepts a chunked body within the limit', async function () {
      const response = await sendChunked(api.url, token, ['{"name":"Desk lamp",', '"description":"Warm light"}']);
      assert.equal(response.status, 201);
    });

    it('refuses JSON that is not an object', async function () {
      for (const raw of ['[]', '"Desk lamp"', 'null', '42', 'true']) {
        const error = refused(await post(raw), 400, 'validation_failed');
        assert.equal(error.details?.[0]?.location, 'body');
      }
      await assertNothingStored();
    });
  });

  describe('body schemas', function () {
    it('refuses wrong types, naming each field', async function () {
      const error = refused(await api.request('POST', '/items', { token, body: { name: 123, description: ['Warm light'] } }), 400, 'validation_failed');
      const fields = new Set(error.details?.map((d) => `${d.location}:${d.path}`));
      assert.deepEqual([...fields].sort(), ['body:description', 'body:name']);
      for (const detail of error.details ?? []) assert.ok(detail.message.length > 0);
      await assertNothingStored();
    });

    it('refuses missing fields', async function () {
      const error = refused(await api.request('POST', '/items', { token, body: { name: 'Desk lamp' } }), 400, 'validation_failed');
      assert.deepEqual(error.details?.map((d) => d.path), ['description']);
    });

    it('refuses unknown fields instead of ignoring them', async function () {
      const error = refused(await api.request('POST', '/items', { token, body: { ...VALID, colour: 'red' } }), 400, 'validation_failed');
      assert.match(JSON.stringify(error.details), /colour/);
      await assertNothingStored();
    });

    it('refuses __proto__, constructor and prototype keys (prototype pollution)', async function () {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const raw = `{"name":"Desk lamp","description":"Warm light","${key}":{"admin":true}}`;
        refused(await post(raw), 400, 'validation_failed');
      }
      await assertNothingStored();
      assert.equal(({} as Record<string, unknown>).admin, undefined);
    });

    it('refuses a PATCH with nothing to change, and changes nothing', async function () {
      const created = await api.request('POST', '/items', { token, body: VALID });
      const before = await api.store.get('items', created.json.id);
      refused(await api.request('PATCH', `/items/${created.json.id}`, { token, body: {} }), 400, 'validation_failed');
      refused(await api.request('PATCH', `/items/${created.json.id}`, { token, body: { name: 'x' } }), 400, 'validation_failed');
      assert.deepEqual(await api.store.get('items', created.json.id), before);
    });

    it('refuses a body on routes that take none', async function () {
      const created = await api.request('POST', '/items', { token, body: VALID });
      refused(await api.request('GET', '/items', { token, body: { limit: 1 } }), 400, 'unexpected_body');
      refused(await api.request('DELETE', `/items/${created.json.id}`, { token, body: { force: true } }), 400, 'unexpected_body');
      assert.ok(await api.store.get('items', created.json.id), 'the item is still there');
    });
  });

  describe('query', function () {
    it('refuses limits outside 1..100 and non-numbers', async function () {
      for (const limit of ['0', '101', 'abc', '1.5', '-1', '']) {
        const error = refused(await api.request('GET', `/items?limit=${limit}`, { token }), 400, 'validation_failed');
        assert.deepEqual(error.details?.map((d) => [d.location, d.path]), [['query', 'limit']], limit);
      }
    });

    it('refuses unknown and repeated parameters', async function () {
      const unknown = refused(await api.request('GET', '/items?limit=5&sort=name', { token }), 400, 'validation_failed');
      assert.ok(unknown.details?.every((d) => d.location === 'query'));
      const repeated = refused(await api.request('GET', '/items?limit=1&limit=2', { token }), 400, 'validation_failed');
      assert.deepEqual(repeated.details?.map((d) => [d.location, d.path]), [['query', 'limit']]);
    });

    it('refuses a query string on routes that take none', async function () {
      refused(await api.request('GET', '/items/AAAAAAAAAAAAAAAAAAAA?debug=1', { token }), 400, 'validation_failed');
    });
  });

  describe('path parameters', function () {
    it('refuses ids that are not item ids before any store call', async function () {
      const before = itemCalls();
      for (const id of ['not-a-valid-id', 'A'.repeat(21), 'A'.repeat(19), `${'A'.repeat(19)}!`, `${'A'.repeat(19)}%00`, `${'A'.repeat(19)}%C3%A9`]) {
        for (const method of ['GET', 'PATCH', 'DELETE']) {
          const body = method === 'PATCH' ? { name: 'Renamed' } : undefined;
          const error = refused(await api.request(method, `/items/${id}`, { token, body }), 400, 'validation_failed');
          assert.deepEqual(error.details?.map((d) => [d.location, d.path]), [['params', 'id']], `${method} ${id}`);
        }
      }
      assert.equal(itemCalls(), before, 'no call reached the items collection');
      // ...while a well-formed id does reach the store: the counter counts.
      await api.request('GET', '/items/AAAAAAAAAAAAAAAAAAAA', { token });
      assert.equal(itemCalls(), before + 1);
    });
  });

  it('reports problems in params, query and body together', async function () {
    const response = await api.request('PATCH', '/items/bad-id?x=1', { token, body: { name: 5, extra: true } });
    const error = refused(response, 400, 'validation_failed');
    const locations = new Set(error.details?.map((d) => d.location));
    assert.deepEqual([...locations].sort(), ['body', 'params', 'query']);
  });
});
