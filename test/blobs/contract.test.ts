/**
 * The blob-store contract: every driver must pass the very same suite.
 * The Cloud Storage leg runs when STORAGE_EMULATOR_HOST is set, and is reported as skipped otherwise.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import { BlobExistsError, BlobNotFoundError } from '../../functions/src/blobs/errors.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';

interface DriverUnderTest {
  name: string;
  enabled: boolean;
  /**
   * Whether the backend enforces create-only writes. Cloud Storage does (`ifGenerationMatch: 0`,
   * checked against a fake endpoint in cloud-storage.test.ts); its emulator ignores preconditions.
   */
  enforcesCreateOnly: boolean;
  open(): Promise<{ blobs: BlobStore; dispose(): Promise<void> }>;
}

export const drivers: DriverUnderTest[] = [
  {
    name: 'disk',
    enabled: true,
    enforcesCreateOnly: true,
    open: async () => {
      const root = await mkdtemp(join(tmpdir(), 'bastion-blob-contract-'));
      return { blobs: new DiskBlobStore({ root }), dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 'cloud-storage',
    enabled: Boolean(process.env.STORAGE_EMULATOR_HOST),
    enforcesCreateOnly: !process.env.STORAGE_EMULATOR_HOST,
    open: async () => {
      const { openCloudStorageBlobStore } = await import('../../functions/src/blobs/cloud-storage.ts');
      const projectId = process.env.GCLOUD_PROJECT ?? 'demo-bastion';
      const blobs = await openCloudStorageBlobStore({ bucket: process.env.STORAGE_BUCKET ?? `${projectId}.appspot.com`, projectId });
      return { blobs, dispose: async () => {} };
    },
  },
];

/** A source that yields `chunks`, then fails, as a client that goes away midway. */
function failingSource(chunks: Buffer[], error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) {
        yield chunk;
        await new Promise((resolve) => setImmediate(resolve));
      }
      throw error;
    })(),
  );
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

for (const driver of drivers) {
  describe(`blob store contract on ${driver.name}`, function () {
    let blobs: BlobStore;
    let dispose: () => Promise<void>;
    // A prefix unique to each test keeps the Cloud Storage leg independent of earlier runs.
    let prefix: string;

    before(function () {
      if (!driver.enabled) this.skip();
    });

    beforeEach(async function () {
      ({ blobs, dispose } = await driver.open());
      prefix = `contract/${randomUUID()}`;
    });

    afterEach(async function () {
      await blobs?.close();
      await dispose?.();
    });

    it('stores a stream and gives back the same bytes, size and content type', async function () {
      const bytes = randomBytes(3 * 1024 * 1024 + 17); // many chunks
      const info = await blobs.put(`${prefix}/a.png`, Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), { contentType: 'image/png' });
      assert.deepEqual(info, { size: bytes.length, contentType: 'image/png' });
      assert.equal(sha256(await buffer(await blobs.get(`${prefix}/a.png`))), sha256(bytes));
      assert.deepEqual(await blobs.stat(`${prefix}/a.png`), { size: bytes.length, contentType: 'image/png' });
    });

    it('stores an empty blob', async function () {
      await blobs.put(`${prefix}/empty`, Readable.from([]), { contentType: 'application/octet-stream' });
      assert.equal((await blobs.stat(`${prefix}/empty`))?.size, 0);
      assert.equal((await buffer(await blobs.get(`${prefix}/empty`))).length, 0);
    });

    it('refuses to overwrite, and keeps the first blob whole', async function () {
      if (!driver.enforcesCreateOnly) this.skip(); // the emulator ignores ifGenerationMatch
      await blobs.put(`${prefix}/a`, Readable.from([Buffer.from('first')]), { contentType: 'text/plain' });
      await assert.rejects(blobs.put(`${prefix}/a`, Readable.from([Buffer.from('second')]), { contentType: 'text/plain' }), BlobExistsError);
      assert.equal(await text(await blobs.get(`${prefix}/a`)), 'first');
      assert.deepEqual(await blobs.list(prefix), [`${prefix}/a`]);
    });

    it('stores nothing when the source fails midway, and rejects with the source\'s own error', async function () {
      const cause = new Error('client went away');
      await assert.rejects(
        blobs.put(`${prefix}/half`, failingSource([randomBytes(64 * 1024), randomBytes(64 * 1024)], cause), { contentType: 'image/png' }),
        (error) => error === cause,
      );
      assert.equal(await blobs.stat(`${prefix}/half`), null);
      await assert.rejects(blobs.get(`${prefix}/half`), BlobNotFoundError);
      assert.deepEqual(await blobs.list(prefix), []);
    });

    it('reads a missing blob as null, and refuses to stream it before any byte', async function () {
      assert.equal(await blobs.stat(`${prefix}/nope`), null);
      await assert.rejects(blobs.get(`${prefix}/nope`), BlobNotFoundError);
    });

    it('deletes, and deleting a missing blob is not an error', async function () {
      await blobs.put(`${prefix}/gone`, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
      await blobs.delete(`${prefix}/gone`);
      assert.equal(await blobs.stat(`${prefix}/gone`), null);
      await blobs.delete(`${prefix}/gone`);
      await blobs.delete(`${prefix}/never`);
    });

    it('lists the keys under a prefix, sorted, and only those', async function () {
      for (const key of ['b/2', 'a/1', 'b/1', 'ab']) {
        await blobs.put(`${prefix}/${key}`, Readable.from([Buffer.from(key)]), { contentType: 'text/plain' });
      }
      assert.deepEqual(await blobs.list(`${prefix}/b/`), [`${prefix}/b/1`, `${prefix}/b/2`]);
      assert.deepEqual(await blobs.list(`${prefix}/a`), [`${prefix}/a/1`, `${prefix}/ab`]);
      assert.deepEqual(await blobs.list(`${prefix}/c/`), []);
    });

    it('stores concurrent puts of different keys independently', async function () {
      const payloads = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
      await Promise.all(payloads.map((bytes, i) => blobs.put(`${prefix}/${i}`, Readable.from([bytes]), { contentType: 'image/png' })));
      for (const [i, bytes] of payloads.entries()) {
        assert.equal(sha256(await buffer(await blobs.get(`${prefix}/${i}`))), sha256(bytes));
      }
    });

    for (const key of ['', '/abs', 'a//b', '../escape', 'a/../../b', 'a/./b', 'a/..', 'with space', 'back\\slash', 'nul\0byte', 'é']) {
      it(`refuses the key ${JSON.stringify(key)} for every operation`, async function () {
        await assert.rejects(blobs.put(key, Readable.from([Buffer.from('x')]), { contentType: 'text/plain' }), TypeError);
        await assert.rejects(blobs.get(key), TypeError);
        await assert.rejects(blobs.stat(key), TypeError);
        await assert.rejects(blobs.delete(key), TypeError);
      });
    }
  });
}

describe('disk blob store', function () {
  it('leaves no partial file behind a failed put, and none visible while writing', async function () {
    const root = await mkdtemp(join(tmpdir(), 'bastion-blob-disk-'));
    try {
      const blobs = new DiskBlobStore({ root });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const source = Readable.from(
        (async function* () {
          yield randomBytes(1024);
          await gate;
          throw new Error('cut');
        })(),
      );
      const putting = blobs.put('uploads/x/1.png', source, { contentType: 'image/png' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(await blobs.list(''), [], 'nothing is visible while the blob is being written');
      assert.equal(await blobs.partialCount(), 1);
      release();
      await assert.rejects(putting, /cut/);
      assert.equal(await blobs.partialCount(), 0);
      assert.deepEqual(await blobs.list(''), []);
      assert.deepEqual((await readdir(root, { recursive: true })).filter((p) => !p.startsWith('.')), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
