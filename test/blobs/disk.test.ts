/**
 * The disk driver where the contract cannot look: on a disk that is full (a real one, a tmpfs
 * of 64 KiB) or that fails at any one step (its file system given as a collaborator that fails
 * there, with each errno a disk can give), what its folders and files are made with whatever
 * the umask, and which leftovers of dead processes it removes. The evidence is the folder
 * itself, read straight off the disk.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { DiskBlobStore, type DiskFileSystem } from '../../functions/src/blobs/disk.ts';
import { BlobStoreUnavailableError } from '../../functions/src/blobs/errors.ts';
import { mountTinyDisk, skipWithoutTinyDisk, type TinyDisk } from '../support/tiny-disk.ts';
import { HOUR, MINUTE, backdate, filesUnder, modesUnder } from './support.ts';

const KiB = 1024;

/** Chunks of 16 KiB, so a failure can come midway. */
const source = (bytes: number) => {
  const data = randomBytes(bytes);
  return Readable.from(Array.from({ length: Math.ceil(bytes / (16 * KiB)) }, (_, i) => data.subarray(i * 16 * KiB, (i + 1) * 16 * KiB)));
};

/** Rejects as a failing disk does: BlobStoreUnavailableError, carrying the errno. */
const unavailableWith = (code: string) => (error: unknown) => error instanceof BlobStoreUnavailableError && (error.cause as NodeJS.ErrnoException).code === code;

describe('disk blob driver', function () {
  let root: string;
  let parent: string;

  beforeEach(async function () {
    parent = await mkdtemp(join(tmpdir(), 'bastion-disk-driver-'));
    root = join(parent, 'blobs');
  });

  afterEach(async function () {
    await rm(parent, { recursive: true, force: true });
  });

  describe('on a full disk (a real tmpfs of 64 KiB)', function () {
    let disk: TinyDisk;

    before(function () {
      skipWithoutTinyDisk(this);
    });

    beforeEach(async function () {
      disk = await mountTinyDisk(64 * KiB);
    });

    afterEach(async function () {
      await disk?.release();
    });

    it('a put larger than the room left: BlobStoreUnavailableError (ENOSPC), and nothing left — no blob, no .partial, no .meta', async function () {
      const blobs = new DiskBlobStore({ root: join(disk.path, 'blobs') });
      await assert.rejects(blobs.put('uploads/a/1.png', source(256 * KiB), { contentType: 'image/png' }), unavailableWith('ENOSPC'));
      assert.deepEqual(await filesUnder(disk.path), []);
      assert.equal(await blobs.stat('uploads/a/1.png'), null);
    });

    it('gives the room back: the next put that fits is stored whole', async function () {
      const blobs = new DiskBlobStore({ root: join(disk.path, 'blobs') });
      await assert.rejects(blobs.put('uploads/a/1.png', source(256 * KiB), { contentType: 'image/png' }), BlobStoreUnavailableError);
      await blobs.put('uploads/a/2.png', Readable.from([Buffer.from('fits')]), { contentType: 'image/png' });
      assert.equal(await text(await blobs.get('uploads/a/2.png')), 'fits');
      assert.deepEqual(await filesUnder(disk.path), ['blobs/.meta/uploads/a/2.png.json', 'blobs/uploads/a/2.png']);
    });
  });

  describe('when the disk fails at one step', function () {
    type Step =
      | 'making a folder'
      | 'creating the file'
      | 'writing the bytes, midway'
      | 'flushing'
      | 'linking into place'
      | 'writing the content type'
      | 'renaming the content type into place';
    const steps: Step[] = [
      'making a folder',
      'creating the file',
      'writing the bytes, midway',
      'flushing',
      'linking into place',
      'writing the content type',
      'renaming the content type into place',
    ];
    // Full, over quota, an I/O error, read-only, out of file handles (the process's, the system's), over RLIMIT_FSIZE.
    const codes = ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EFBIG'];

    /** node:fs/promises, but `step` fails with `code`. */
    function failingAt(step: Step, code: string): DiskFileSystem {
      const fault = () => Object.assign(new Error(`${code}: injected at ${step}`), { code });
      const fail = async (): Promise<never> => {
        throw fault();
      };
      const open = (async (path: string, flags: string, mode?: number) => {
        const contentType = path.endsWith('.json');
        if (flags === 'wx' && step === (contentType ? 'writing the content type' : 'creating the file')) throw fault();
        const handle = await fsp.open(path, flags, mode);
        if (!contentType && step === 'writing the bytes, midway') {
          const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
          let writes = 0;
          Object.assign(handle, { write: (...args: unknown[]) => (++writes > 1 ? fail() : write(...args)) });
        }
        if (!contentType && step === 'flushing') Object.assign(handle, { sync: fail });
        return handle;
      }) as DiskFileSystem['open'];
      return {
        ...fsp,
        open,
        mkdir: step === 'making a folder' ? fail : fsp.mkdir,
        link: step === 'linking into place' ? fail : fsp.link,
        rename: step === 'renaming the content type into place' ? fail : fsp.rename,
      };
    }

    for (const step of steps) {
      for (const code of codes) {
        it(`${code} while ${step}: BlobStoreUnavailableError, nothing left, the source let go`, async function () {
          const blobs = new DiskBlobStore({ root, fs: failingAt(step, code) });
          const bytes = source(64 * KiB);
          await assert.rejects(blobs.put('uploads/a/1.png', bytes, { contentType: 'image/png' }), unavailableWith(code));
          assert.deepEqual(await filesUnder(root), []);
          assert.ok(bytes.destroyed || bytes.readableEnded, 'the source is not left waiting');
          assert.equal(await new DiskBlobStore({ root }).stat('uploads/a/1.png'), null);
        });
      }
    }

    it('a source that fails is told apart from a disk that fails: its own error, as it was', async function () {
      const cause = Object.assign(new Error('client went away'), { code: 'ECONNRESET' });
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(KiB);
          throw cause;
        })(),
      );
      await assert.rejects(new DiskBlobStore({ root }).put('uploads/a/1.png', failing, { contentType: 'image/png' }), (error) => error === cause);
      assert.deepEqual(await filesUnder(root), []);
    });
  });

  describe('folders 0700 and files 0600, whatever the umask', function () {
    for (const umask of [0o000, 0o022, 0o277]) {
      it(`under umask ${umask.toString(8).padStart(3, '0')}`, async function () {
        const saved = process.umask(umask);
        try {
          const blobs = new DiskBlobStore({ root });
          await blobs.put('uploads/a/1.png', Readable.from([Buffer.from('one')]), { contentType: 'image/png' });
          await blobs.put('uploads/b/c/2.png', Readable.from([Buffer.from('two')]), { contentType: 'image/png' });
        } finally {
          process.umask(saved);
        }
        assert.deepEqual(await modesUnder(root), {
          '.': 0o700,
          '.partial': 0o700,
          '.meta': 0o700,
          '.meta/uploads': 0o700,
          '.meta/uploads/a': 0o700,
          '.meta/uploads/a/1.png.json': 0o600,
          '.meta/uploads/b': 0o700,
          '.meta/uploads/b/c': 0o700,
          '.meta/uploads/b/c/2.png.json': 0o600,
          uploads: 0o700,
          'uploads/a': 0o700,
          'uploads/a/1.png': 0o600,
          'uploads/b': 0o700,
          'uploads/b/c': 0o700,
          'uploads/b/c/2.png': 0o600,
        });
      });
    }
  });

  describe('what dead processes leave', function () {
    /** A file as a put cut short by a crash leaves it, written `ageMs` ago. */
    async function place(path: string, bytes: Buffer | string, ageMs: number): Promise<void> {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, bytes);
      await backdate(path, ageMs);
    }

    it('removeLeftovers removes .partial files and .meta entries without a blob last written before the cutoff, and nothing else', async function () {
      const blobs = new DiskBlobStore({ root });
      await blobs.put('uploads/a/kept.png', Readable.from([Buffer.from('kept')]), { contentType: 'image/png' });
      await backdate(join(root, 'uploads/a/kept.png'), 2 * HOUR);
      await backdate(join(root, '.meta/uploads/a/kept.png.json'), 2 * HOUR);
      const deadPartial = join(root, '.partial', randomUUID());
      const deadPartialType = `${join(root, '.partial', randomUUID())}.json`;
      const livePartial = join(root, '.partial', randomUUID());
      const orphanType = join(root, '.meta/uploads/a/gone.png.json');
      const youngOrphanType = join(root, '.meta/uploads/a/just-deleted.png.json');
      await place(deadPartial, randomBytes(1000), 2 * HOUR);
      await place(deadPartialType, '{"contentType":"image/png"}', 2 * HOUR);
      await place(livePartial, randomBytes(500), 10 * MINUTE);
      await place(orphanType, '{"contentType":"image/png"}', 2 * HOUR);
      await place(youngOrphanType, '{"contentType":"image/png"}', 10 * MINUTE);

      const removed = await blobs.removeLeftovers(new Date(Date.now() - HOUR));

      assert.deepEqual(removed, { files: 3, bytes: 1000 + 2 * '{"contentType":"image/png"}'.length });
      assert.deepEqual(await filesUnder(root), [
        '.meta/uploads/a/just-deleted.png.json',
        '.meta/uploads/a/kept.png.json',
        livePartial.slice(root.length + 1),
        'uploads/a/kept.png',
      ]);
      assert.deepEqual(await blobs.stat('uploads/a/kept.png'), { size: 4, contentType: 'image/png' });
    });

    it('removeLeftovers on a folder never written to removes nothing, and makes nothing', async function () {
      assert.deepEqual(await new DiskBlobStore({ root }).removeLeftovers(new Date()), { files: 0, bytes: 0 });
      assert.deepEqual(await filesUnder(root), []);
    });

    it('a blob whose content type was never written (its process died between the two steps) reads as application/octet-stream', async function () {
      const blobs = new DiskBlobStore({ root });
      await blobs.put('uploads/a/1.png', Readable.from([Buffer.from('bytes')]), { contentType: 'image/png' });
      await unlink(join(root, '.meta/uploads/a/1.png.json'));
      assert.deepEqual(await blobs.stat('uploads/a/1.png'), { size: 5, contentType: 'application/octet-stream' });
      assert.deepEqual(await blobs.list('uploads/'), ['uploads/a/1.png']);
    });

    it('a refused put leaves the existing content type byte for byte', async function () {
      const blobs = new DiskBlobStore({ root });
      await blobs.put('uploads/a/1.png', Readable.from([Buffer.from('first')]), { contentType: 'image/png' });
      const before = await readFile(join(root, '.meta/uploads/a/1.png.json'));
      await assert.rejects(blobs.put('uploads/a/1.png', Readable.from([Buffer.from('second')]), { contentType: 'image/gif' }));
      assert.deepEqual(await readFile(join(root, '.meta/uploads/a/1.png.json')), before);
      assert.deepEqual(await filesUnder(root), ['.meta/uploads/a/1.png.json', 'uploads/a/1.png']);
    });
  });
});
