/**
 * The file inspector on its own, fed chunk by chunk as a slow or fragmenting client would:
 * it keeps every byte whatever the chunking, and decides on the first bytes (type, pixel limit
 * from the header) without waiting for the rest.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FILE_TYPES } from '../../functions/src/uploads/file-types.ts';
import { FileInspector, type Inspection } from '../../functions/src/uploads/inspect.ts';
import { fixture, png } from '../support/images.ts';

const PNG = FILE_TYPES.find((type) => type.extension === 'png')!;
const GIF = FILE_TYPES.find((type) => type.extension === 'gif')!;

function inspector(options: { named?: typeof PNG; maxPixels?: number } = {}): FileInspector {
  const named = options.named ?? PNG;
  return new FileInspector({
    byExtension: named,
    byDeclaredType: named,
    extension: named.extension,
    declaredType: named.mime,
    maxPixels: options.maxPixels ?? 25_000_000,
  });
}

const chunked = (bytes: Buffer, size: number) => {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
};

async function inspect(bytes: Buffer, size: number, check = inspector()): Promise<Inspection> {
  await pipeline(Readable.from(chunked(bytes, size)), check);
  return check.result;
}

/** `head`, then a source that never ends: what the inspector decides, it decides on the head alone. */
function headThenNothing(head: Buffer): Readable {
  const source = new Readable({ read() {} }); // the rest of the file never comes
  source.push(head);
  return source;
}

const code = (expected: string) => (error: { code?: string }) => error.code === expected;

describe('file inspector', function () {
  it('keeps every byte as it came, whatever the chunking, with the dimensions the header declares', async function () {
    const image = png({ bytes: 50_000 });
    for (const size of [1, 7, 4099, 4100, 65_536]) {
      const result = await inspect(image, size);
      assert.ok(result.bytes.equals(image), `chunks of ${size}`);
      assert.deepEqual([result.type.extension, result.width, result.height], ['png', 24, 16]);
    }
  });

  it('refuses a type other than the one the file is named as on the first bytes, without waiting for the rest', async function () {
    await assert.rejects(pipeline(headThenNothing(png({ bytes: 50_000 }).subarray(0, 5000)), inspector({ named: GIF })), code('extension_mismatch'));
  });

  it('refuses too many pixels from the header, without waiting for the rest or decoding anything', async function () {
    const bomb = png({ width: 100_000, height: 100_000, bytes: 50_000 });
    await assert.rejects(pipeline(headThenNothing(bomb.subarray(0, 5000)), inspector()), (error: { code?: string; details?: unknown }) => {
      assert.equal(error.code, 'image_too_large');
      assert.deepEqual(error.details, { width: 100_000, height: 100_000, maxPixels: 25_000_000 });
      return true;
    });
  });

  it('refuses an empty file, and a file too short to say its dimensions', async function () {
    await assert.rejects(inspect(Buffer.alloc(0), 10), code('empty_file'));
    await assert.rejects(inspect(fixture('small.gif').subarray(0, 8), 3, inspector({ named: GIF })), code('image_unreadable'));
  });

  it('reads dimensions from the bytes received alone, never from the memory after them', async function () {
    // The first 8 bytes of the GIF, as a view whose memory goes on with the rest of its header (16×12).
    const cut = fixture('small.gif').subarray(0, 8);
    assert.equal(Buffer.from(cut.buffer, cut.byteOffset + 8, 2).readUInt16LE(0), 12, 'the height is right after the view');
    await assert.rejects(inspect(cut, 8, inspector({ named: GIF })), code('image_unreadable'));
  });
});
