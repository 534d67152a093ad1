/**
 * The blob-store contract: every driver must pass the very same suite.
 * The Cloud Storage leg runs when STORAGE_EMULATOR_HOST is set, and is reported as skipped otherwise.
 * What only one driver can show (a full disk, file modes, the requests sent) is in disk.test.ts
 * and cloud-storage.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import { BlobExistsError, BlobNotFoundError } from '../../functions/src/blobs/errors.ts';
import type { BlobEntry, BlobStore } from '../../functions/src/blobs/port.ts';
import { drivers, partialCount } from './support.ts';
import { waitFor } from '../../scripts/wait.ts';
import { skipBecause } from '../support/skip.ts';

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
      if (!driver.enabled) skipBecause(this, driver.missing);
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
      if (!driver.enforcesCreateOnly) skipBecause(this, 'the Storage API server ignores ifGenerationMatch; test/blobs/cloud-storage.test.ts covers it');
      await blobs.put(`${prefix}/a`, Readable.from([Buffer.from('first')]), { contentType: 'text/plain' });
      await assert.rejects(blobs.put(`${prefix}/a`, Readable.from([Buffer.from('second')]), { contentType: 'text/plain' }), BlobExistsError);
      assert.equal(await text(await blobs.get(`${prefix}/a`)), 'first');
      assert.deepEqual(await blobs.list(prefix), [`${prefix}/a`]);
    });

    it("refuses to overwrite, and keeps the first blob's content type (a refused put touches nothing)", async function () {
      if (!driver.enforcesCreateOnly) skipBecause(this, 'the Storage API server ignores ifGenerationMatch; test/blobs/cloud-storage.test.ts covers it');
      await blobs.put(`${prefix}/a`, Readable.from([Buffer.from('first')]), { contentType: 'image/png' });
      await assert.rejects(blobs.put(`${prefix}/a`, Readable.from([Buffer.from('second!')]), { contentType: 'image/gif' }), BlobExistsError);
      assert.deepEqual(await blobs.stat(`${prefix}/a`), { size: 5, contentType: 'image/png' });
    });

    it("stores nothing when the source fails midway, and rejects with the source's own error", async function () {
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

    /** Every page of `prefix`, `limit` at a time. */
    async function allPages(limit: number): Promise<BlobEntry[][]> {
      const pages: BlobEntry[][] = [];
      let cursor: string | undefined;
      do {
        const page = await blobs.listPage(prefix, { limit, cursor });
        pages.push(page.blobs);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return pages;
    }

    it('lists in pages: every key once, in order, each page at most the limit, the last without a cursor', async function () {
      const keys = ['e', 'a', 'd', 'b', 'c'].map((name) => `${prefix}/${name}`);
      for (const key of keys) await blobs.put(key, Readable.from([Buffer.from(key)]), { contentType: 'text/plain' });
      const pages = await allPages(2);
      const at = (name: string) => `${prefix}/${name}`;
      assert.deepEqual(
        pages.map((page) => page.map((blob) => blob.key)),
        [[at('a'), at('b')], [at('c'), at('d')], [at('e')]],
      );
      assert.deepEqual((await blobs.listPage(prefix, { limit: 5 })).nextCursor, null);
      assert.deepEqual(await blobs.listPage(`${prefix}/nothing/`), { blobs: [], nextCursor: null });
    });

    it("tells each blob's size and when it was stored", async function () {
      const before = Date.now();
      await blobs.put(`${prefix}/a`, Readable.from([Buffer.from('12345')]), { contentType: 'text/plain' });
      const after = Date.now();
      const [entry] = (await blobs.listPage(prefix)).blobs;
      assert.equal(entry!.key, `${prefix}/a`);
      assert.equal(entry!.size, 5);
      assert.ok(entry!.createdAt instanceof Date);
      // File times come from a coarse clock; the emulator's from its own: a second either side.
      assert.ok(entry!.createdAt.getTime() >= before - 1000 && entry!.createdAt.getTime() <= after + 1000, entry!.createdAt.toISOString());
    });

    it('pages on undisturbed when the blobs a page showed are deleted before the next (as the reconciler does)', async function () {
      const keys = Array.from({ length: 7 }, (_, i) => `${prefix}/${i}`);
      for (const key of keys) await blobs.put(key, Readable.from([Buffer.from(key)]), { contentType: 'text/plain' });
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await blobs.listPage(prefix, { limit: 3, cursor });
        for (const blob of page.blobs) {
          seen.push(blob.key);
          await blobs.delete(blob.key);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(seen, keys);
      assert.deepEqual(await blobs.list(prefix), []);
    });

    it('refuses a page size outside 1..1000, and a cursor it did not make', async function () {
      for (const limit of [0, 1001, 1.5, Number.NaN]) await assert.rejects(blobs.listPage(prefix, { limit }), TypeError, String(limit));
      for (const cursor of ['', 'not a cursor', Buffer.from('{"a":1}').toString('base64url')]) {
        await assert.rejects(blobs.listPage(prefix, { cursor }), TypeError, cursor);
      }
      await assert.rejects(blobs.listPage('../escape'), TypeError);
    });

    it('removeLeftovers never removes a blob, or what makes one whole, however old', async function () {
      await blobs.put(`${prefix}/a`, Readable.from([Buffer.from('kept')]), { contentType: 'image/png' });
      await blobs.removeLeftovers(new Date(Date.now() + 24 * 3600_000));
      assert.deepEqual(await blobs.stat(`${prefix}/a`), { size: 4, contentType: 'image/png' });
      assert.equal(await text(await blobs.get(`${prefix}/a`)), 'kept');
    });

    it('a key that is only a prefix of other keys is no blob: missing, and deleting it removes nothing', async function () {
      await blobs.put(`${prefix}/dir/a`, Readable.from([Buffer.from('a')]), { contentType: 'text/plain' });
      assert.equal(await blobs.stat(`${prefix}/dir`), null);
      await assert.rejects(blobs.get(`${prefix}/dir`), BlobNotFoundError);
      await blobs.delete(`${prefix}/dir`);
      assert.deepEqual(await blobs.list(prefix), [`${prefix}/dir/a`]);
    });

    it('stores concurrent puts of different keys independently', async function () {
      const payloads = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
      await Promise.all(payloads.map((bytes, i) => blobs.put(`${prefix}/${i}`, Readable.from([bytes]), { contentType: 'image/png' })));
      for (const [i, bytes] of payloads.entries()) {
        assert.equal(sha256(await buffer(await blobs.get(`${prefix}/${i}`))), sha256(bytes));
      }
    });

    // A leading dot would reach the disk driver's own folders (.partial, .meta) or hide a file.
    for (const key of ['', '/abs', 'a//b', '../escape', 'a/../../b', 'a/./b', 'a/..', '.partial/x', '.meta/x.json', 'a/.hidden', 'with space', 'back\\slash', 'nul\0byte', 'é']) {
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
      let asked!: () => void;
      const askedForMore = new Promise<void>((resolve) => (asked = resolve));
      const source = Readable.from(
        (async function* () {
          yield randomBytes(1024);
          asked(); // the driver took the first chunk and wants the next
          await gate;
          throw new Error('cut');
        })(),
      );
      const putting = blobs.put('uploads/x/1.png', source, { contentType: 'image/png' });
      await askedForMore;
      // Evidence that the write is under way: the first kilobyte is in the partial file.
      const partialBytes = async () => {
        const [name] = await readdir(join(root, '.partial')).catch(() => []);
        return name ? (await stat(join(root, '.partial', name))).size : 0;
      };
      await waitFor(async () => (await partialBytes()) === 1024, { timeoutMs: 5000, what: 'the first chunk written to the partial file' });
      assert.deepEqual(await blobs.list(''), [], 'nothing is visible while the blob is being written');
      assert.equal(await partialCount(root), 1);
      release();
      await assert.rejects(putting, /cut/);
      assert.equal(await partialCount(root), 0);
      assert.deepEqual(await blobs.list(''), []);
      assert.deepEqual(
        (await readdir(root, { recursive: true })).filter((p) => !p.startsWith('.')),
        [],
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
