/**
 * Input validation, the last stage before a handler: JSON only where JSON is expected, a size
 * limit enforced before and while reading, unknown fields and parameters refused rather than
 * ignored, params, query and body checked together. Every bad input gets the one error shape
 * `{ error: { code, message, requestId, details? } }`, and nothing is written: the handler,
 * and so the items collection, is never reached.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { DocumentData, DocumentStore, Transaction } from '../../functions/src/store/port.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

const VALID = { name: 'Desk lamp', description: 'Warm light' };
/** The smallest limit config accepts; small enough to exceed cheaply. */
const LIMIT = 1024;
const WELL_FORMED_ID = 'AAAAAAAAAAAAAAAAAAAA';

interface Detail {
  location: string;
  path: string;
  message: string;
}

/**
 * A real in-memory store (the one startApi uses by default) that counts every operation on the
 * items collection, direct or inside a transaction. The rate limiter also reads and writes the
 * store on every request (its own `rateLimits` collection, through runTransaction), so counting
 * all calls would measure the limiter's leases, not whether the handler ran; counting the items
 * collection measures exactly "did this request reach the data".
 */
function countingStore(): { store: DocumentStore; itemOperations: () => number } {
  const inner = memoryStore();
  let operations = 0;
  const count = (collection: string) => {
    if (collection === 'items') operations += 1;
  };
  const counted = (tx: Transaction): Transaction => ({
    get: <T extends DocumentData>(c: string, id: string) => (count(c), tx.get<T>(c, id)),
    create: (c, id, data) => (count(c), tx.create(c, id, data)),
    set: (c, id, data) => (count(c), tx.set(c, id, data)),
    update: (c, id, patch) => (count(c), tx.update(c, id, patch)),
    delete: (c, id) => (count(c), tx.delete(c, id)),
  });
  const store = withOverrides(inner, {
    get: <T extends DocumentData>(c: string, id: string) => (count(c), inner.get<T>(c, id)),
    create: (c, id, data) => (count(c), inner.create(c, id, data)),
    set: (c, id, data) => (count(c), inner.set(c, id, data)),
    update: (c, id, patch) => (count(c), inner.update(c, id, patch)),
    delete: (c, id) => (count(c), inner.delete(c, id)),
    query: <T extends DocumentData>(c: string, spec: Parameters<DocumentStore['query']>[1]) => (count(c), inner.query<T>(c, spec)),
    runTransaction: (work) => inner.runTransaction((tx) => work(counted(tx))),
  });
  return { store, itemOperations: () => operations };
}

/**
 * POST /items over node:http directly, writing `chunks` one by one. With `end: false` the
 * request is never finished: a response can then only come from a server that decided without
 * waiting for the rest of the body (otherwise the test times out).
 */
function streamBody(url: string, headers: OutgoingHttpHeaders, chunks: (string | Buffer)[], end: boolean): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL('/items', url), { method: 'POST', headers, agent: false });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(parts), text, json: text ? JSON.parse(text) : undefined });
        if (!end) req.destroy();
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // Once answered, the server may close on the rest of the upload: that is intended.
      if (!(answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE'))) reject(error);
    });
    req.flushHeaders();
    for (const chunk of chunks) req.write(chunk);
    if (end) req.end();
  });
}

describe('validation', function () {
  let api: TestApi;
  let token: string;
  let itemOperations: () => number;

  beforeEach(async function () {
    const counting = countingStore();
    itemOperations = counting.itemOperations;
    api = await startApi({ BODY_LIMIT_BYTES: String(LIMIT) }, { store: counting.store });
    token = await api.token({ sub: 'alice', roles: ['user'] });
  });

  afterEach(async function () {
    await api.close();
  });

  /** Asserts the one error shape, with a request id matching the header; returns the error. */
  function refused(response: Response, status: number, code: string) {
    assert.equal(response.status, status, response.text);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    const { error } = response.json;
    assert.equal(error.code, code, response.text);
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.length > 0, 'a message for the client');
    assert.equal(typeof error.requestId, 'string');
    assert.ok(error.requestId.length > 0, 'a request id');
    assert.equal(error.requestId, response.headers['x-request-id']);
    return error as { code: string; message: string; requestId: string; details?: Detail[] };
  }

  function where(details: Detail[] | undefined): string[] {
    assert.ok(Array.isArray(details), 'details is an array');
    for (const detail of details) {
      assert.equal(typeof detail.message, 'string');
      assert.ok(detail.message.length > 0, 'each detail has a message');
    }
    return details.map((d) => `${d.location}:${d.path}`);
  }

  /** True when the detail is in `location` and names `field`, by its path or (unknown keys) in its message. */
  function names(details: Detail[] | undefined, location: string, field: string): boolean {
    return (details ?? []).some((d) => d.location === location && (d.path === field || d.message.includes(`"${field}"`)));
  }

  async function assertNothingStored(): Promise<void> {
    assert.deepEqual((await api.store.query('items', { limit: 10 })).documents, []);
  }

  const post = (raw: string | Buffer, contentType: string | null = 'application/json') =>
    api.request('POST', '/items', { token, raw, headers: contentType === null ? {} : { 'content-type': contentType } });

  describe('JSON bodies', function () {
    it('refuses malformed JSON with 400 invalid_json', async function () {
      for (const raw of ['{"name":', '{name: "Desk lamp"}', "{'name':'Desk lamp'}", '{"name":"Desk lamp",}', '{"name":"Desk lamp"}}']) {
        refused(await post(raw), 400, 'invalid_json');
      }
      await assertNothingStored();
    });

    it('refuses bytes that are not UTF-8 with 400 invalid_json, even inside otherwise valid JSON', async function () {
      const raw = Buffer.concat([Buffer.from('{"name":"Desk '), Buffer.from([0xff]), Buffer.from('lamp","description":"Warm light"}')]);
      refused(await post(raw), 400, 'invalid_json');
      // An overlong encoding of '"' (0xc0 0xa2) must not sneak a quote past the decoder either.
      const overlong = Buffer.concat([Buffer.from('{"name":"Desk lamp'), Buffer.from([0xc0, 0xa2]), Buffer.from(',"description":"Warm light"}')]);
      refused(await post(overlong), 400, 'invalid_json');
      await assertNothingStored();
    });

    it('refuses a body not declared as JSON with 415 unsupported_media_type', async function () {
      const json = JSON.stringify(VALID);
      for (const type of [
        null,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json-patch+json',
        'application/json; charset=latin1',
      ]) {
        refused(await post(json, type), 415, 'unsupported_media_type');
      }
      await assertNothingStored();
    });

    it('accepts application/json with a UTF-8 charset parameter', async function () {
      for (const type of ['application/json; charset=utf-8', 'Application/JSON; charset="UTF-8"']) {
        const response = await post(JSON.stringify(VALID), type);
        assert.equal(response.status, 201, `${type}: ${response.text}`);
      }
    });

    it('refuses an empty body with 400 body_required', async function () {
      refused(await post(''), 400, 'body_required');
      await assertNothingStored();
    });

    it('refuses JSON that is not an object (array, string, null, number, boolean) with 400', async function () {
      for (const raw of ['[]', `[${JSON.stringify(VALID)}]`, '"Desk lamp"', 'null', '42', 'true']) {
        const error = refused(await post(raw), 400, 'validation_failed');
        assert.deepEqual(where(error.details), ['body:'], raw);
      }
      await assertNothingStored();
    });
  });

  describe('the body size limit', function () {
    it('refuses a body over the limit with 413 payload_too_large, by its Content-Length', async function () {
      const raw = JSON.stringify({ ...VALID, description: 'x'.repeat(LIMIT) });
      const error = refused(await post(raw), 413, 'payload_too_large');
      assert.match(error.message, new RegExp(String(LIMIT)));
      await assertNothingStored();
    });

    it('decides on the declared Content-Length without waiting for the body, and closes the connection', async function () {
      // Only the first bytes are ever sent: a server that waited for the body would never answer.
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(LIMIT + 1) };
      const response = await streamBody(api.url, headers, ['{"name":"Desk lamp"'], false);
      refused(response, 413, 'payload_too_large');
      assert.equal(response.headers.connection, 'close');
      await assertNothingStored();
    });

    it('accepts a body of exactly the limit', async function () {
      const padding = LIMIT - JSON.stringify(VALID).length;
      const raw = JSON.stringify(VALID).replace('{', `{${' '.repeat(padding)}`);
      assert.equal(Buffer.byteLength(raw), LIMIT);
      assert.equal((await post(raw)).status, 201);
    });

    it('refuses a chunked body (no Content-Length) with 413 as soon as it grows over the limit', async function () {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
      const chunks = ['{"name":"Desk lamp","description":"', ...Array.from({ length: 4 }, () => 'x'.repeat(LIMIT / 2))];
      // Never ended: the limit must be enforced while reading, not after buffering everything.
      const response = await streamBody(api.url, headers, chunks, false);
      refused(response, 413, 'payload_too_large');
      assert.equal(response.headers.connection, 'close');
      await assertNothingStored();
    });

    it('refuses the same oversized body sent chunked to completion', async function () {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
      const chunks = ['{"name":"Desk lamp","description":"', ...Array.from({ length: 4 }, () => 'x'.repeat(LIMIT / 2)), '"}'];
      refused(await streamBody(api.url, headers, chunks, true), 413, 'payload_too_large');
      await assertNothingStored();
    });

    it('accepts a chunked body within the limit', async function () {
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
      const response = await streamBody(api.url, headers, ['{"name":"Desk lamp",', '"description":"Warm light"}'], true);
      assert.equal(response.status, 201, response.text);
    });
  });

  describe('body schemas', function () {
    it('refuses wrong types with 400 validation_failed, one detail per field', async function () {
      const response = await api.request('POST', '/items', { token, body: { name: 123, description: ['x'] } });
      const error = refused(response, 400, 'validation_failed');
      assert.deepEqual([...new Set(where(error.details))].sort(), ['body:description', 'body:name']);
      await assertNothingStored();
    });

    it('refuses missing fields, naming them', async function () {
      const error = refused(await api.request('POST', '/items', { token, body: { name: 'Desk lamp' } }), 400, 'validation_failed');
      assert.deepEqual(where(error.details), ['body:description']);
      await assertNothingStored();
    });

    it('refuses unknown fields instead of ignoring them, naming the field', async function () {
      const error = refused(await api.request('POST', '/items', { token, body: { ...VALID, colour: 'red' } }), 400, 'validation_failed');
      assert.ok(names(error.details, 'body', 'colour'), JSON.stringify(error.details));
      await assertNothingStored();
    });

    it('refuses __proto__, constructor and prototype keys in the JSON text, and stores nothing', async function () {
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const raw = `{"name":"Desk lamp","description":"Warm light","${key}":{"admin":true}}`;
        const error = refused(await post(raw), 400, 'validation_failed');
        assert.ok(names(error.details, 'body', key), `${key}: ${JSON.stringify(error.details)}`);
      }
      await assertNothingStored();
      // And nothing leaked into the prototypes the process shares.
      assert.equal(({} as Record<string, unknown>).admin, undefined);
      assert.equal((Object.prototype as Record<string, unknown>).admin, undefined);
    });

    it('refuses a PATCH with nothing to change, or with an invalid field, and leaves the item as it was', async function () {
      const created = await api.request('POST', '/items', { token, body: VALID });
      assert.equal(created.status, 201);
      const before = await api.store.get('items', created.json.id);
      for (const body of [{}, { name: 'x' }, { name: 'Renamed', ownerId: 'bob' }, { description: 7 }]) {
        refused(await api.request('PATCH', `/items/${created.json.id}`, { token, body }), 400, 'validation_failed');
      }
      assert.deepEqual(await api.store.get('items', created.json.id), before);
    });

    it('refuses a body on GET and DELETE with 400 unexpected_body, and deletes nothing', async function () {
      const created = await api.request('POST', '/items', { token, body: VALID });
      assert.equal(created.status, 201);
      refused(await api.request('GET', '/items', { token, body: { limit: 1 } }), 400, 'unexpected_body');
      refused(await api.request('GET', `/items/${created.json.id}`, { token, raw: 'x', headers: { 'content-type': 'text/plain' } }), 400, 'unexpected_body');
      refused(await api.request('DELETE', `/items/${created.json.id}`, { token, body: { force: true } }), 400, 'unexpected_body');
      assert.deepEqual(await api.store.get('items', created.json.id), { ownerId: 'alice', ...VALID, createdAt: created.json.createdAt, updatedAt: created.json.updatedAt });
    });

    it('treats Content-Length: 0 on a GET as no body', async function () {
      const response = await api.request('GET', '/items', { token, headers: { 'content-length': '0' } });
      assert.equal(response.status, 200, response.text);
    });
  });

  describe('query parameters', function () {
    it('refuses a limit outside 1..100 or not an integer, with location query', async function () {
      for (const limit of ['0', '101', 'abc', '1.5', '-1', '']) {
        const error = refused(await api.request('GET', `/items?limit=${limit}`, { token }), 400, 'validation_failed');
        assert.deepEqual(where(error.details), ['query:limit'], `limit=${limit}`);
      }
      // The bounds themselves are fine.
      for (const limit of ['1', '100']) assert.equal((await api.request('GET', `/items?limit=${limit}`, { token })).status, 200);
    });

    it('refuses an unknown parameter instead of ignoring it, naming it', async function () {
      const error = refused(await api.request('GET', '/items?limit=5&sort=name', { token }), 400, 'validation_failed');
      assert.ok(error.details?.every((d) => d.location === 'query'));
      assert.ok(names(error.details, 'query', 'sort'), JSON.stringify(error.details));
    });

    it('refuses a repeated parameter (no guessing which one counts)', async function () {
      const error = refused(await api.request('GET', '/items?limit=1&limit=2', { token }), 400, 'validation_failed');
      assert.deepEqual(where(error.details), ['query:limit']);
    });

    it('refuses a query string on a route that takes none', async function () {
      const error = refused(await api.request('GET', `/items/${WELL_FORMED_ID}?debug=1`, { token }), 400, 'validation_failed');
      assert.ok(error.details?.every((d) => d.location === 'query'));
    });
  });

  describe('path parameters', function () {
    it('refuses ids that are not item ids with location params, before any store call', async function () {
      const malformed = ['not-a-valid-id', 'A'.repeat(21), 'A'.repeat(19), `${'A'.repeat(19)}!`, `${'A'.repeat(19)}%00`, `${'A'.repeat(19)}%C3%A9`];
      const before = itemOperations();
      for (const id of malformed) {
        for (const method of ['GET', 'PATCH', 'DELETE']) {
          const body = method === 'PATCH' ? { name: 'Renamed' } : undefined;
          const error = refused(await api.request(method, `/items/${id}`, { token, body }), 400, 'validation_failed');
          assert.deepEqual(where(error.details), ['params:id'], `${method} ${id}`);
        }
      }
      assert.equal(itemOperations(), before, 'no malformed id reached the items collection');
      // The counter does count: a well-formed id reaches the store (one read).
      const wellFormed = await api.request('GET', `/items/${WELL_FORMED_ID}`, { token });
      assert.equal(wellFormed.status, 404);
      assert.equal(itemOperations(), before + 1);
    });
  });

  it('reports problems in params, query and body together, in one details array', async function () {
    const response = await api.request('PATCH', '/items/bad-id?x=1', { token, body: { name: 5, extra: true } });
    const error = refused(response, 400, 'validation_failed');
    where(error.details);
    const all = JSON.stringify(error.details);
    assert.ok(names(error.details, 'params', 'id'), all);
    assert.ok(names(error.details, 'query', 'x'), all);
    assert.ok(names(error.details, 'body', 'name'), all);
    assert.ok(names(error.details, 'body', 'extra'), all);
  });
});
