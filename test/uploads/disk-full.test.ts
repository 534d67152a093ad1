/**
 * An upload onto a full disk, over real HTTP: the whole server, with its blobs on a real tmpfs
 * of 64 KiB (test/support/tiny-disk.ts), meets the kernel's own ENOSPC while storing an image
 * of about 192 KiB. The client is told to come back (503 blob_store_unavailable, Retry-After), and nothing
 * is kept: the disk holds no file at all, the store no document and no quota used.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import { filesUnder } from '../blobs/support.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { noisePng } from '../support/images.ts';
import { mountTinyDisk, skipWithoutTinyDisk, type TinyDisk } from '../support/tiny-disk.ts';
import { assertNothingStored, upload } from './support.ts';

const KiB = 1024;

describe('an upload onto a full disk (a real tmpfs of 64 KiB)', function () {
  let disk: TinyDisk;
  let api: TestApi;

  before(function () {
    skipWithoutTinyDisk(this);
  });

  beforeEach(async function () {
    disk = await mountTinyDisk(64 * KiB);
    api = await startApi({}, { blobs: new DiskBlobStore({ root: join(disk.path, 'blobs') }), blobDir: join(disk.path, 'blobs') });
  });

  afterEach(async function () {
    await api?.close();
    await disk?.release();
  });

  it('answers 503 blob_store_unavailable with Retry-After, and keeps nothing: no file on the disk, no document, no quota used', async function () {
    const response = await upload(api, await api.token(), 'big.png', 'image/png', noisePng(256, 256));
    assert.equal(response.status, 503, response.text);
    assert.equal(response.json.error.code, 'blob_store_unavailable');
    assert.equal(response.headers['retry-after'], '1');
    assert.deepEqual(await filesUnder(disk.path), [], 'no blob, no .partial, no .meta');
    await assertNothingStored(api);
    const failed = api.logs.find((line) => line.message === 'request failed');
    assert.match(JSON.stringify(failed), /ENOSPC/, 'the log names the cause');
  });

  it('and the retry it asks for works once there is room: a file that fits is stored', async function () {
    const alice = await api.token();
    assert.equal((await upload(api, alice, 'big.png', 'image/png', noisePng(256, 256))).status, 503);
    const retried = await upload(api, alice, 'small.png', 'image/png', png());
    assert.equal(retried.status, 201, retried.text);
    assert.equal((await api.blobs.list('uploads/')).length, 1);
  });
});
