/**
 * When storage fails: an upload whose blob or metadata cannot be written answers 503 and
 * leaves nothing; a download that breaks midway is cut, never passed off as complete; a delete
 * that fails can be retried.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import { BlobStoreUnavailableError } from '../../functions/src/blobs/errors.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';
import { StoreUnavailableError } from '../../functions/src/store/errors.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';
import { assertNothingStored, upload } from './support.ts';
import { waitFor } from '../../scripts/wait.ts';

describe('uploads when storage fails', function () {
  let api: TestApi;
  let dir: string;
  let disk: DiskBlobStore;
  const breaks: { put?: boolean; get?: boolean; delete?: boolean; transaction?: boolean } = {};

  beforeEach(async function () {
    for (const key of Object.keys(breaks)) delete breaks[key as keyof typeof breaks];
    dir = await mkdtemp(join(tmpdir(), 'bastion-blob-failures-'));
    disk = new DiskBlobStore({ root: dir });
    const blobs = withOverrides<BlobStore>(disk, {
      async put(key, source, options) {
        if (breaks.put) {
          source.resume();
          throw new BlobStoreUnavailableError('bucket unreachable');
        }
        return disk.put(key, source, options);
      },
      async get(key) {
        const stream = await disk.get(key);
        if (!breaks.get) return stream;
        // Half the bytes, then a read error, as a disk or network failure midway.
        return Readable.from(
          (async function* () {
            let sent = 0;
            for await (const chunk of stream) {
              yield (chunk as Buffer).subarray(0, 10);
              sent += 10;
              if (sent >= 10) throw new Error('read failed midway');
            }
          })(),
        );
      },
      async delete(key) {
        if (breaks.delete) throw new BlobStoreUnavailableError('bucket unreachable');
        return disk.delete(key);
      },
    });
    const sqlite = memoryStore();
    const store = withOverrides(sqlite, {
      async runTransaction(work) {
        if (breaks.transaction) throw new StoreUnavailableError('firestore unreachable');
        return sqlite.runTransaction(work);
      },
    });
    api = await startApi({}, { store, blobs, blobDir: dir });
  });

  afterEach(async function () {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a blob store that fails: 503 blob_store_unavailable with Retry-After, nothing stored', async function () {
    breaks.put = true;
    const response = await upload(api, await api.token(), 'a.png', 'image/png', png());
    assert.equal(response.status, 503, response.text);
    assert.equal(response.json.error.code, 'blob_store_unavailable');
    assert.equal(response.headers['retry-after'], '1');
    await assertNothingStored(api);
  });

  it('metadata that cannot be written: 503, and the blob already stored is removed again', async function () {
    breaks.transaction = true;
    const response = await upload(api, await api.token(), 'a.png', 'image/png', png());
    assert.equal(response.status, 503, response.text);
    assert.equal(response.json.error.code, 'store_unavailable');
    breaks.transaction = false;
    await assertNothingStored(api);
  });

  it('a download that fails midway cuts the connection: the client never sees a complete file', async function () {
    const token = await api.token();
    const created = await upload(api, token, 'a.png', 'image/png', png());
    breaks.get = true;
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(new URL(`/uploads/${created.json.id}/content`, api.url), { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        const declared = Number(res.headers['content-length']);
        let received = 0;
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('end', () => resolve(received === declared ? 'complete' : `short: ${received} of ${declared}`));
        res.on('error', () => resolve('aborted'));
        res.on('aborted', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.end();
    });
    assert.equal(outcome, 'aborted');
    // The failure is logged once the server has given up on the stream: wait for that line.
    await waitFor(() => api.logs.some((line) => line.message === 'request failed' && line.err), { timeoutMs: 5000, what: 'the download logged as a server failure' });
  });

  it('a delete whose blob cannot be removed: 503, the upload stays, and a retry completes it', async function () {
    const token = await api.token();
    const created = await upload(api, token, 'a.png', 'image/png', png());
    breaks.delete = true;
    const failed = await api.request('DELETE', `/uploads/${created.json.id}`, { token });
    assert.equal(failed.status, 503, failed.text);
    assert.equal((await api.request('GET', `/uploads/${created.json.id}`, { token })).status, 200);
    breaks.delete = false;
    assert.equal((await api.request('DELETE', `/uploads/${created.json.id}`, { token })).status, 204);
    await assertNothingStored(api);
  });
});
