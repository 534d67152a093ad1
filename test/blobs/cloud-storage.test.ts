/**
 * The Cloud Storage driver's requests and its reading of answers, against a stand-in endpoint
 * that records requests and answers as told: what the emulator cannot show (it ignores
 * preconditions, never fails) and what needs no emulator at all.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CRC32C } from '@google-cloud/storage';
import { openCloudStorageBlobStore, type CloudStorageBlobStore } from '../../functions/src/blobs/cloud-storage.ts';
import { BlobExistsError, BlobStoreUnavailableError } from '../../functions/src/blobs/errors.ts';

interface Seen {
  method: string;
  url: URL;
  body: Buffer;
}

describe('Cloud Storage blob driver, against a stand-in endpoint', function () {
  let server: Server;
  let blobs: CloudStorageBlobStore;
  let seen: Seen[];
  /** Connections the endpoint has accepted. */
  let connections: number;
  let answer: { status: number; body: unknown };
  const saved = process.env.STORAGE_EMULATOR_HOST;

  beforeEach(async function () {
    seen = [];
    connections = 0;
    answer = { status: 200, body: {} };
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method!, url: new URL(req.url!, 'http://x'), body: Buffer.concat(chunks) });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // The library reads the endpoint when the client is made.
    process.env.STORAGE_EMULATOR_HOST = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    blobs = await openCloudStorageBlobStore({ bucket: 'b', projectId: 'demo-x' });
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });

  afterEach(async function () {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('uploads in one request, only if no object has the name (ifGenerationMatch=0), private and uncached', async function () {
    // The client checks the stored object's CRC32C against what it sent.
    const checksum = new CRC32C();
    checksum.update(Buffer.from('bytes'));
    const crc32c = checksum.toString();
    answer = { status: 200, body: { name: 'uploads/a/1.png', bucket: 'b', size: '5', contentType: 'image/png', crc32c } };
    await blobs.put('uploads/a/1.png', Readable.from([Buffer.from('bytes')]), { contentType: 'image/png' });
    const upload = seen.find((r) => r.method === 'POST')!;
    assert.equal(upload.url.pathname, '/upload/storage/v1/b/b/o');
    assert.equal(upload.url.searchParams.get('uploadType'), 'multipart');
    assert.equal(upload.url.searchParams.get('ifGenerationMatch'), '0');
    assert.equal(upload.url.searchParams.get('name'), 'uploads/a/1.png');
    const text = upload.body.toString('latin1');
    assert.match(text, /"contentType":"image\/png"/);
    assert.match(text, /"cacheControl":"private, no-store"/);
    assert.ok(text.includes('bytes'));
  });

  it('sends nothing at all when the source fails midway (no upload left hanging open)', async function () {
    const cause = new Error('client went away');
    const source = Readable.from(
      (async function* () {
        yield Buffer.alloc(70_000, 1);
        throw cause;
      })(),
    );
    await assert.rejects(blobs.put('uploads/a/1.png', source, { contentType: 'image/png' }), (error) => error === cause);
    // A request of the same client sent after the failure: once the endpoint has answered it,
    // anything the failed put had started would have reached the endpoint before it.
    answer = { status: 404, body: { error: { code: 404, message: 'No such object' } } };
    assert.equal(await blobs.stat('uploads/a/marker.png'), null);
    assert.deepEqual(
      seen.map((request) => `${request.method} ${decodeURIComponent(request.url.pathname)}`),
      ['GET /b/b/o/uploads/a/marker.png'],
      'the endpoint saw only the later request',
    );
    assert.equal(connections, 1, "no connection but the later request's");
  });

  it('reads 412 (the name is taken) as BlobExistsError', async function () {
    answer = { status: 412, body: { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } } };
    await assert.rejects(blobs.put('uploads/a/1.png', Readable.from([Buffer.from('x')]), { contentType: 'image/png' }), BlobExistsError);
  });

  it('a refused put is that one conditional request, carrying the content type: nothing is sent that could change the existing object', async function () {
    answer = { status: 412, body: { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } } };
    await assert.rejects(blobs.put('uploads/a/1.png', Readable.from([Buffer.from('x')]), { contentType: 'image/gif' }), BlobExistsError);
    assert.deepEqual(
      seen.map((r) => [r.method, r.url.pathname, r.url.searchParams.get('ifGenerationMatch')]),
      [['POST', '/upload/storage/v1/b/b/o', '0']],
    );
    assert.match(seen[0]!.body.toString('latin1'), /"contentType":"image\/gif"/);
  });

  it('lists a page: the size and page token asked for, sizes and timeCreated read, the next page token wrapped as the cursor', async function () {
    answer = {
      status: 200,
      body: { kind: 'storage#objects', nextPageToken: 'token-2', items: [{ name: 'uploads/a/1.png', bucket: 'b', size: '5', timeCreated: '2025-01-02T03:04:05.678Z' }] },
    };
    const page = await blobs.listPage('uploads/', { limit: 1 });
    assert.deepEqual(page.blobs, [{ key: 'uploads/a/1.png', size: 5, createdAt: new Date('2025-01-02T03:04:05.678Z') }]);
    assert.equal(seen[0]!.url.pathname, '/b/b/o'); // the JSON API, under the emulator host's root
    assert.equal(seen[0]!.url.searchParams.get('prefix'), 'uploads/');
    assert.equal(seen[0]!.url.searchParams.get('maxResults'), '1');
    assert.equal(seen[0]!.url.searchParams.get('pageToken'), null);

    answer = { status: 200, body: { kind: 'storage#objects' } };
    assert.deepEqual(await blobs.listPage('uploads/', { limit: 1, cursor: page.nextCursor! }), { blobs: [], nextCursor: null });
    assert.equal(seen[1]!.url.searchParams.get('pageToken'), 'token-2');
  });

  it('has no leftovers to remove, and asks nothing to find that out', async function () {
    assert.deepEqual(await blobs.removeLeftovers(new Date()), { files: 0, bytes: 0 });
    assert.deepEqual(seen, []);
  });

  it('reads other failures as BlobStoreUnavailableError, for every operation', async function () {
    answer = { status: 403, body: { error: { code: 403, message: 'denied' } } };
    await assert.rejects(blobs.put('uploads/a/1.png', Readable.from([Buffer.from('x')]), { contentType: 'image/png' }), BlobStoreUnavailableError);
    await assert.rejects(blobs.stat('uploads/a/1.png'), BlobStoreUnavailableError);
    await assert.rejects(blobs.delete('uploads/a/1.png'), BlobStoreUnavailableError);
    await assert.rejects(blobs.list('uploads/'), BlobStoreUnavailableError);
    await assert.rejects(blobs.listPage('uploads/'), BlobStoreUnavailableError);
  });

  it('reads 404 as a missing blob', async function () {
    answer = { status: 404, body: { error: { code: 404, message: 'No such object' } } };
    assert.equal(await blobs.stat('uploads/a/1.png'), null);
    await blobs.delete('uploads/a/1.png'); // not an error
  });
});
