/**
 * The Firebase entry point: the same handlers, exported as v2 HTTPS functions, answer the same
 * under the function's own URL (no prefix) and under Hosting rewrites (`/items/...`), with the
 * body already read into `rawBody` as the platform does.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueAccessToken } from '../functions/src/auth/tokens.ts';
import { loadConfig } from '../functions/src/config/index.ts';
import { generateSigningKey } from '../functions/src/config/signing-keys.ts';
import { send } from './support/api.ts';

describe('Cloud Functions entry point (functions/src/index.ts)', function () {
  const saved = { ...process.env };
  let server: Server;
  let base: string;
  let token: string;

  before(async function () {
    Object.assign(process.env, {
      APP_ENV: 'test',
      SQLITE_PATH: ':memory:',
      AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
      LOG_LEVEL: 'error',
    });
    // A fresh owner: on the Firestore emulator, items of earlier runs are still there.
    token = await issueAccessToken((await loadConfig()).auth, { sub: `alice-${randomUUID()}`, roles: ['user'], amr: ['pwd'] });
    const exported = await import('../functions/src/index.ts');
    // Stand-in for the platform: read the body into rawBody, then call the exported function.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        Object.assign(req, { rawBody: Buffer.concat(chunks) });
        void (exported.items as unknown as (q: typeof req, s: typeof res) => Promise<void>)(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(function () {
    server?.close();
    process.env = saved;
  });

  it('exports auth, items and uploads as HTTPS functions', async function () {
    const exported = await import('../functions/src/index.ts');
    for (const name of ['auth', 'items', 'uploads'] as const) {
      assert.equal(typeof exported[name], 'function');
      assert.ok((exported[name] as unknown as { __endpoint: { httpsTrigger: unknown } }).__endpoint.httpsTrigger, name);
    }
  });

  it('answers the same under the function URL and under a Hosting rewrite, reading rawBody', async function () {
    const created = await send(base, 'POST', '/', { token, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(created.status, 201, created.text);
    const viaFunctionUrl = await send(base, 'GET', `/${created.json.id}`, { token });
    const viaHosting = await send(base, 'GET', `/items/${created.json.id}`, { token });
    assert.equal(viaFunctionUrl.status, 200);
    assert.deepEqual(viaHosting.json, viaFunctionUrl.json);
    const list = await send(base, 'GET', '/items?limit=5', { token });
    assert.equal(list.json.items.length, 1);
    assert.equal(viaHosting.headers['x-frame-options'], 'DENY');
  });

  it('validates bodies that arrive as rawBody like any other', async function () {
    const response = await send(base, 'POST', '/items', { token, raw: '{"name":', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    assert.equal(response.json.error.code, 'invalid_json');
  });
});
