/**
 * reconcileBlobs, on every driver: of the blobs under a prefix, exactly those that nothing
 * refers to and that are older than the grace go; every referred-to blob stays, however old,
 * and every blob younger than the grace stays, referred to or not. Age is the blobs' own
 * (their listing's createdAt): the clock is moved past a boundary between "old" and "young"
 * blobs, since no backend lets a spec write an object in the past.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from '../../functions/src/blobs/port.ts';
import { MIN_GRACE_MS, reconcileBlobs } from '../../functions/src/blobs/reconcile.ts';
import { HOUR, drivers, pastNewest } from './support.ts';
import { skipBecause } from '../support/skip.ts';

for (const driver of drivers) {
  describe(`reconcileBlobs on ${driver.name}`, function () {
    let blobs: BlobStore;
    let dispose: () => Promise<void>;
    let prefix: string;

    before(function () {
      if (!driver.enabled) skipBecause(this, driver.missing);
    });

    beforeEach(async function () {
      ({ blobs, dispose } = await driver.open());
      prefix = `reconcile/${randomUUID()}/`;
    });

    afterEach(async function () {
      await blobs?.close();
      await dispose?.();
    });

    const put = (key: string) => blobs.put(key, Readable.from([Buffer.from(key)]), { contentType: 'image/png' });

    /** Puts `old`, then `young`; returns a boundary between them (see pastNewest). */
    async function storeOldThenYoung(old: string[], young: string[]): Promise<number> {
      for (const key of old) await put(key);
      const boundary = await pastNewest(blobs, prefix);
      for (const key of young) await put(key);
      const listed = (await blobs.listPage(prefix, { limit: 1000 })).blobs;
      assert.ok(
        listed.filter((blob) => young.includes(blob.key)).every((blob) => blob.createdAt.getTime() >= boundary),
        'young blobs are younger',
      );
      return boundary;
    }

    it('removes exactly the unreferenced blobs older than the grace', async function () {
      const at = (name: string) => `${prefix}${name}`;
      const boundary = await storeOldThenYoung([at('old-referenced'), at('old-orphan-1'), at('old-orphan-2')], [at('young-referenced'), at('young-orphan')]);
      const referenced = new Set([at('old-referenced'), at('young-referenced')]);
      const asked: string[] = [];

      const report = await reconcileBlobs({
        blobs,
        prefix,
        graceMs: HOUR,
        now: () => boundary + HOUR,
        referenced: async (keys) => (asked.push(...keys), new Set(keys.filter((key) => referenced.has(key)))),
      });

      assert.deepEqual(report.orphans.keys, [at('old-orphan-1'), at('old-orphan-2')]);
      assert.equal(report.orphans.bytes, at('old-orphan-1').length + at('old-orphan-2').length);
      assert.equal(report.scanned, 5);
      assert.deepEqual(await blobs.list(prefix), [at('old-referenced'), at('young-orphan'), at('young-referenced')]);
      assert.deepEqual(asked.sort(), [at('old-orphan-1'), at('old-orphan-2'), at('old-referenced')], 'asked about old blobs only');
    });

    it('pages through many blobs, removing as it goes, and keeps what is referred to on every page', async function () {
      const keys = Array.from({ length: 9 }, (_, i) => `${prefix}${i}`);
      const boundary = await storeOldThenYoung(keys, []);
      const referenced = new Set([keys[0]!, keys[4]!, keys[8]!]);
      const report = await reconcileBlobs({
        blobs,
        prefix,
        graceMs: HOUR,
        now: () => boundary + HOUR,
        pageSize: 2,
        referenced: async (asked) => new Set(asked.filter((key) => referenced.has(key))),
      });
      assert.equal(report.orphans.keys.length, 6);
      assert.deepEqual(await blobs.list(prefix), [...referenced]);
    });

    it('leaves blobs outside its prefix alone', async function () {
      const outside = `${prefix.slice(0, -1)}-other/orphan`;
      const boundary = await storeOldThenYoung([`${prefix}orphan`, outside], []);
      await reconcileBlobs({ blobs, prefix, graceMs: HOUR, now: () => boundary + HOUR, referenced: async () => new Set() });
      assert.deepEqual(await blobs.list(prefix), []);
      assert.deepEqual(await blobs.list(outside), [outside]);
      await blobs.delete(outside);
    });

    it(`refuses a grace under ${MIN_GRACE_MS / 1000} s before touching anything`, async function () {
      await put(`${prefix}orphan`);
      for (const graceMs of [0, MIN_GRACE_MS - 1, Number.NaN]) {
        await assert.rejects(reconcileBlobs({ blobs, prefix, graceMs, now: () => Date.now() + HOUR, referenced: async () => new Set() }), TypeError);
      }
      assert.deepEqual(await blobs.list(prefix), [`${prefix}orphan`]);
    });
  });
}
