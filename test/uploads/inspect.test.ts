/**
 * The file inspector on its own, fed chunk by chunk as a slow or fragmenting client would:
 * where it looks for markup, that chunk boundaries hide nothing, and that it finishes only
 * once the rest of the request allows it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FILE_TYPES } from '../../functions/src/uploads/file-types.ts';
import { FileInspector, type Inspection } from '../../functions/src/uploads/inspect.ts';
import { png } from '../support/images.ts';
import { sha256 } from './support.ts';

const PNG = FILE_TYPES.find((type) => type.extension === 'png')!;

function inspector(commitWhen: Promise<void> = Promise.resolve()): FileInspector {
  return new FileInspector({ byExtension: PNG, byDeclaredType: PNG, extension: 'png', declaredType: 'image/png', maxPixels: 25_000_000, commitWhen });
}

/** Feeds `bytes` in chunks of `size` and collects what comes out. */
async function inspect(bytes: Buffer, size: number, commitWhen?: Promise<void>): Promise<{ result: Inspection; out: Buffer }> {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  const check = inspector(commitWhen);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), check, async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return { result: check.result, out: Buffer.concat(out) };
}

/** A PNG whose private chunk, well past the start, holds `middle` between random bytes. */
function pngWith(middle: string): Buffer {
  return png({ privateData: Buffer.concat([randomBytes(20_000), Buffer.from(middle, 'latin1'), randomBytes(20_000)]) });
}

describe('file inspector', function () {
  it('passes every byte through unchanged, hashed and counted, whatever the chunking', async function () {
    const image = png({ bytes: 50_000 });
    for (const size of [1, 7, 4099, 4100, 65_536]) {
      const { result, out } = await inspect(image, size);
      assert.ok(out.equals(image), `chunks of ${size}`);
      assert.deepEqual({ ...result, type: result.type.extension }, { type: 'png', size: image.length, sha256: sha256(image), width: 24, height: 16 });
    }
  });

  it('finds script markers anywhere, even split across chunks', async function () {
    const image = pngWith('<ScRiPt>alert(1)</script>');
    const at = image.indexOf('<ScRiPt');
    // Chunk sizes that cut the marker after each of its characters.
    for (const cut of [1, 3, 6]) {
      const size = at + cut;
      await assert.rejects(inspect(image, size), (error: { code?: string }) => error.code === 'active_content', `cut after ${cut}`);
    }
  });

  it('finds short markers (<svg, <html) in the first bytes, but does not mistake random image data for them', async function () {
    await assert.rejects(inspect(png({ text: '<svg onload=alert(1)>' }), 1000), (error: { code?: string }) => error.code === 'active_content');
    // Compressed pixels are as good as random: a 4-byte pattern turns up in them by chance.
    const { result } = await inspect(pngWith('<svg <HTML <body <?php'), 65_536);
    assert.equal(result.type.extension, 'png');
  });

  it('does not finish before the rest of the request allows it, and fails if it does not', async function () {
    let allow!: () => void;
    const gate = new Promise<void>((resolve) => (allow = resolve));
    let finished = false;
    const inspecting = inspect(png(), 64, gate).then(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(finished, false);
    allow();
    await inspecting;
    assert.equal(finished, true);

    const refused = Promise.reject(new Error('a second file followed'));
    refused.catch(() => {});
    await assert.rejects(inspect(png(), 64, refused), /a second file followed/);
  });
});
