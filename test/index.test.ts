/**
 * The Firebase entry point: the same handlers, exported as v2 HTTPS functions, answer the same
 * under the function's own URL (no prefix) and under Hosting rewrites (`/items/...`), with the
 * body already read into `rawBody` as the platform does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { issueAccessToken } from '../functions/src/auth/tokens.ts';
import { loadConfig } from '../functions/src/config/index.ts';
import { generateSigningKey } from '../functions/src/config/signing-keys.ts';
import { send } from './support/api.ts';
import { localEnv } from './support/local-env.ts';
import { png } from './support/images.ts';
import { fileForm } from './support/multipart.ts';

describe('Cloud Functions entry point (functions/src/index.ts)', function () {
  const saved = { ...process.env };
  let server: Server;
  let base: string;
  let token: string;

  before(async function () {
    Object.assign(process.env, {
      APP_ENV: 'test',
      SQLITE_PATH: ':memory:',
      BLOB_DIR: mkdtempSync(join(tmpdir(), 'bastion-entry-blobs-')),
      AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
      LOG_LEVEL: 'error',
    });
    // A fresh owner: on the Firestore emulator, items of earlier runs are still there.
    token = await issueAccessToken((await loadConfig()).auth, { sub: `alice-${randomUUID()}`, roles: ['user'], amr: ['pwd'], emailVerified: true });
    const exported = await import('../functions/src/index.ts');
    // Stand-in for the platform (with Hosting's rewrites by path): read the body into rawBody,
    // then call the exported function.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        Object.assign(req, { rawBody: Buffer.concat(chunks) });
        // As an Express host does (the Functions emulator's runtime, for one), before the function runs.
        res.setHeader('X-Powered-By', 'Express');
        const fn = req.url!.startsWith('/uploads') ? exported.uploads : exported.items;
        void (fn as unknown as (q: IncomingMessage, s: ServerResponse) => Promise<void>)(req, res);
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

  it('sizes each function for its work: auth for scrypt, uploads for bodies held in memory', async function () {
    const exported = await import('../functions/src/index.ts');
    const endpoint = (fn: unknown) => (fn as { __endpoint: { availableMemoryMb: number; concurrency: number } }).__endpoint;
    assert.deepEqual([endpoint(exported.auth).availableMemoryMb, endpoint(exported.auth).concurrency], [1024, 6]);
    // 20 uploads at the 5 MiB limit, each held up to three times over (300 MiB), and one image
    // being decoded (up to ~360 MiB) fit in 1 GiB.
    assert.deepEqual([endpoint(exported.uploads).availableMemoryMb, endpoint(exported.uploads).concurrency], [1024, 20]);
  });

  it("runs every function in the one declared region, which Hosting's rewrites name, with a bound on instances", async function () {
    const exported = await import('../functions/src/index.ts');
    const { REGION, MAX_INSTANCES } = await import('../functions/src/deploy/options.ts');
    const { hostingRewrites } = await import('../functions/src/deploy/hosting.ts');
    for (const name of ['auth', 'items', 'uploads'] as const) {
      const endpoint = (exported[name] as unknown as { __endpoint: { region: string[]; maxInstances: number; timeoutSeconds: number } }).__endpoint;
      assert.deepEqual(endpoint.region, [REGION], name);
      assert.equal(endpoint.maxInstances, MAX_INSTANCES, name);
      assert.ok(endpoint.timeoutSeconds >= 10, name);
    }
    assert.ok(hostingRewrites().every((rewrite) => rewrite.function.region === REGION));
  });

  it('stores an upload that arrives as rawBody', async function () {
    const form = fileForm('picture.png', 'image/png', png());
    const created = await send(base, 'POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType } });
    assert.equal(created.status, 201, created.text);
    const content = await send(base, 'GET', `/uploads/${created.json.id}/content`, { token });
    assert.ok(content.bytes.equals(png()));
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

  it('takes off the X-Powered-By its host added, on answers and on errors alike', async function () {
    const answers = [await send(base, 'GET', '/items', { token }), await send(base, 'GET', '/items'), await send(base, 'DELETE', '/items')];
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 401, 405],
    );
    for (const answer of answers) assert.equal(answer.headers['x-powered-by'], undefined);
  });

  it('validates bodies that arrive as rawBody like any other', async function () {
    const response = await send(base, 'POST', '/items', { token, raw: '{"name":', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 400);
    assert.equal(response.json.error.code, 'invalid_json');
  });
});

describe('Cloud Functions entry point, when the function cannot start', function () {
  it('answers 503 unavailable with Retry-After and a request id (never a 500 or a crash), and tries again on the next request', async function () {
    this.timeout(30_000);
    const entry = fileURLToPath(new URL('../functions/src/index.ts', import.meta.url));
    // Production without its secrets: the configuration refuses to load, on every request.
    const script = `
      const { items } = await import(${JSON.stringify(entry)});
      const { createServer } = await import('node:http');
      const server = createServer((req, res) => void items(req, res));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = 'http://127.0.0.1:' + server.address().port + '/items';
      const answers = [];
      for (let i = 0; i < 2; i += 1) {
        const response = await fetch(url);
        answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), cacheControl: response.headers.get('cache-control'), body: await response.json() });
      }
      server.close();
      process.stdout.write(JSON.stringify(answers));`;
    const env = await localEnv(mkdtempSync(join(tmpdir(), 'bastion-entry-')), { APP_ENV: 'production', AUTH_SIGNING_KEYS: undefined });
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 25_000 });
    assert.equal(run.status, 0, run.stderr);
    const answers = JSON.parse(run.stdout) as {
      status: number;
      retryAfter: string | null;
      cacheControl: string | null;
      body: { error: { code: string; message: string; requestId: string } };
    }[];
    assert.equal(answers.length, 2);
    for (const answer of answers) {
      assert.equal(answer.status, 503);
      assert.equal(answer.retryAfter, '1');
      assert.equal(answer.cacheControl, 'private, no-store');
      assert.equal(answer.body.error.code, 'unavailable');
      assert.equal(answer.body.error.message, 'The service could not start; retry shortly.');
      assert.match(answer.body.error.requestId, /^[0-9a-f-]{36}$/);
    }
    assert.notEqual(answers[0]!.body.error.requestId, answers[1]!.body.error.requestId);
    assert.equal((run.stderr.match(/function failed to start/g) ?? []).length, 2, 'start-up was tried again, and logged each time');
    assert.match(run.stderr, /AUTH_ISSUER/, 'the log line says why');
  });
});
