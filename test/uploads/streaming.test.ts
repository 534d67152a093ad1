/**
 * How an upload's bytes arrive: read from the request locally (an upload cut off midway
 * leaves nothing), and from `req.rawBody` on Cloud Functions, where the platform has already
 * read the body.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { createFunctionHandler } from '../../functions/src/app.ts';
import { send, startApi, type TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { fileForm, multipart } from '../support/multipart.ts';
import { waitFor } from '../../scripts/wait.ts';
import { assertNothingStored, sha256 } from './support.ts';

const MiB = 1024 * 1024;

/** Until `what` holds: within 5 s, asking every 5 ms. */
const until = (condition: () => Promise<boolean> | boolean, what: string) => waitFor(condition, { timeoutMs: 5000, what, intervalMs: 5 });

describe('uploads: how the bytes arrive', function () {
  let api: TestApi;
  let alice: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
  });

  afterEach(async function () {
    await api.close();
  });

  describe('an upload cut off midway (the connection closes) leaves nothing', function () {
    const form = fileForm('big.png', 'image/png', png({ bytes: 3 * MiB }));
    // While a file is received it is only in the server's memory (it is re-encoded, then
    // stored, once the request is complete): nothing can be seen, so the cut comes once the
    // server's socket has read every byte sent.
    const cuts: [string, number][] = [
      ['in the part headers', 100],
      ['while the type is being sniffed', 2000],
      ['mid-file, while it is being received', 1 * MiB],
      ['after the file, before the closing boundary', form.body.length - 10],
    ];
    for (const [where, bytesSent] of cuts) {
      it(where, async function () {
        const requestId = `cut-upload-${bytesSent}`;
        const head = [
          'POST /uploads HTTP/1.1',
          `Host: ${new URL(api.url).host}`,
          `Authorization: Bearer ${alice}`,
          `Content-Type: ${form.contentType}`,
          `Content-Length: ${form.body.length}`,
          `X-Request-Id: ${requestId}`,
          '',
          '',
        ].join('\r\n');
        const accepted = once(api.server, 'connection') as Promise<[Socket]>;
        const client = connect(Number(new URL(api.url).port), '127.0.0.1');
        client.on('error', () => {}); // we cut it ourselves
        client.write(head);
        client.write(form.body.subarray(0, bytesSent));
        const [serverSide] = await accepted;
        const sent = Buffer.byteLength(head) + bytesSent;
        await until(() => serverSide.bytesRead >= sent, `the server read the ${sent} bytes sent`);
        client.destroy();
        // The access line is written once the request's handling (and its clean-up) is over.
        await until(() => api.logs.some((line) => line.message === 'request' && line.requestId === requestId), 'the request is over');
        await assertNothingStored(api);
        const logged = api.logs.find((line) => line.message === 'request' && line.requestId === requestId)!;
        assert.ok(logged.status >= 400, `logged as ${logged.status}`);
      });
    }

    it('and the next upload goes through as usual', async function () {
      const response = await send(api.url, 'POST', '/uploads', { token: alice, raw: form.body, headers: { 'content-type': form.contentType } });
      assert.equal(response.status, 201, response.text);
    });
  });

  describe('on Cloud Functions, from req.rawBody', function () {
    let server: Server;
    let base: string;
    /** Requests the function is handling: each until its handler has settled and its response closed. */
    let inFlight: Set<Promise<unknown>>;

    beforeEach(async function () {
      const handler = createFunctionHandler('uploads', api.runtime);
      inFlight = new Set();
      // Stand-in for the platform: the body is read into rawBody before the function runs.
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          Object.assign(req, { rawBody: Buffer.concat(chunks) });
          const work: Promise<unknown> = Promise.all([handler(req, res), once(res, 'close')]).finally(() => inFlight.delete(work));
          inFlight.add(work);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async function () {
      // Like the platform, which ends an instance only once its requests are done: the function
      // logs with the API's logger, and the API (its logger with it) closes after this hook. A
      // connection cut now would make the function log a download the client "closed", and
      // after the API has closed its logger (winston: "no transports").
      await Promise.all(inFlight);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('stores a file, re-encoded as from a stream', async function () {
      const form = fileForm('a.png', 'image/png', png({ bytes: 2 * MiB }));
      const response = await send(base, 'POST', '/uploads', { token: alice, raw: form.body, headers: { 'content-type': form.contentType } });
      assert.equal(response.status, 201, response.text);
      const content = await send(base, 'GET', `/uploads/${response.json.id}/content`, { token: alice });
      assert.equal(sha256(content.bytes), response.json.sha256);
      // The 2 MiB of a private chunk are not image data: what is left is the bare image.
      assert.ok(content.bytes.equals(png()));
    });

    it('enforces the same limits and rules', async function () {
      const over = fileForm('a.png', 'image/png', png({ bytes: 5 * MiB + 1 }));
      const tooLarge = await send(base, 'POST', '/uploads', { token: alice, raw: over.body, headers: { 'content-type': over.contentType } });
      assert.equal(tooLarge.status, 413, tooLarge.text);
      assert.equal(tooLarge.json.error.code, 'file_too_large');
      const two = multipart([
        { name: 'file', filename: 'one.png', contentType: 'image/png', data: png() },
        { name: 'file', filename: 'two.png', contentType: 'image/png', data: png() },
      ]);
      const twoFiles = await send(base, 'POST', '/uploads', { token: alice, raw: two.body, headers: { 'content-type': two.contentType } });
      assert.equal(twoFiles.json.error.code, 'too_many_files');
      const renamed = fileForm('a.gif', 'image/gif', png());
      const mismatch = await send(base, 'POST', '/uploads', { token: alice, raw: renamed.body, headers: { 'content-type': renamed.contentType } });
      assert.equal(mismatch.json.error.code, 'extension_mismatch');
      await assertNothingStored(api);
    });
  });
});
