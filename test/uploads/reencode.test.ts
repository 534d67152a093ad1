/**
 * Uploads that stay inert, over real HTTP: polyglots are stored as nothing but their image
 * (no markup, no archive, nothing after the end marker), metadata is dropped (EXIF with its GPS
 * position, XMP, comments, text chunks) with the orientation applied, an animation keeps its
 * frames, and decoding is bounded: a frame bigger than its canvas is refused before it is
 * decoded, and a full decode queue answers 503 at once and keeps nothing.
 *
 * The oracle is the stored bytes as downloaded, read by the specs' own walkers of each format
 * (test/support/images.ts), never by the code that stored them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Script } from 'node:vm';
import { imageSize } from 'image-size';
import { createWorkQueue } from '../../functions/src/work-queue.ts';
import { setDecodeQueue } from '../../functions/src/uploads/reencode.ts';
import { waitFor } from '../../scripts/wait.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import {
  PNG_END,
  ZIP_SIGNATURES,
  exifSegment,
  fixture,
  gif,
  gifBlocks,
  jpegSegment,
  jpegSegments,
  jpegWith,
  JPEG_APP1,
  JPEG_COMMENT,
  png,
  pngChunks,
  xmpSegment,
  zip,
} from '../support/images.ts';
import { assertNothingStored, upload } from './support.ts';

const HTML = '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>';

/** Markup a list of known markers would miss: event handlers on harmless tags, a redirect, UTF-16. */
const UNLISTED_MARKUP: [string, Buffer][] = [
  ['<img onerror>', Buffer.from('<img src=x onerror=alert(1)>', 'latin1')],
  ['<details ontoggle>', Buffer.from('<details open ontoggle=alert(1)>', 'latin1')],
  ['<meta refresh>', Buffer.from('<meta http-equiv="refresh" content="0;url=https://attacker.example/">', 'latin1')],
  ['UTF-16 <script>', Buffer.from('<script>alert(1)</script>', 'utf16le')],
];

/** The chunks a PNG of nothing but pixels may have. */
const PNG_IMAGE_CHUNKS = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND', 'pHYs']);
/** JPEG markers of image data: start of frame, Huffman and quantisation tables, restart interval, start of scan; and APP0 (JFIF). */
const JPEG_IMAGE_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc4, 0xdb, 0xdd, 0xda, 0xe0]);

function assertOnlyPixels(stored: Buffer, type: 'png' | 'jpg' | 'gif'): void {
  if (type === 'png') {
    const { types, after } = pngChunks(stored);
    assert.deepEqual(
      types.filter((t) => !PNG_IMAGE_CHUNKS.has(t)),
      [],
      `chunks: ${types.join(' ')}`,
    );
    assert.equal(types.filter((t) => t === 'IEND').length, 1);
    assert.equal(after.length, 0, 'nothing after IEND');
  } else if (type === 'jpg') {
    const { markers, segments, after } = jpegSegments(stored);
    assert.deepEqual(
      markers.filter((m) => !JPEG_IMAGE_MARKERS.has(m)).map((m) => m.toString(16)),
      [],
      'no comment, no APPn but JFIF',
    );
    const app0 = segments.filter((_, i) => markers[i] === 0xe0);
    assert.ok(
      app0.every((data) => data.subarray(0, 5).toString('latin1') === 'JFIF\0'),
      'APP0 is JFIF',
    );
    assert.equal(after.length, 0, 'nothing after the end-of-image marker');
  } else {
    const { extensions, after } = gifBlocks(stored);
    assert.deepEqual(
      extensions.filter((e) => e !== 'f9' && e !== 'ff:NETSCAPE2.0'),
      [],
      `extensions: ${extensions.join(' ')}`,
    );
    assert.equal(after.length, 0, 'nothing after the trailer');
  }
  for (const signature of ZIP_SIGNATURES) assert.equal(stored.indexOf(signature), -1, 'no ZIP record');
}

const MIME = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif' } as const;

describe('uploads that stay inert (re-encoded)', function () {
  let api: TestApi;
  let alice: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
  });

  afterEach(async function () {
    await api.close();
  });

  /** Uploads, expects 201, and gives the metadata and the bytes as a download. */
  async function storedBytes(type: 'png' | 'jpg' | 'gif', data: Buffer): Promise<{ upload: Response['json']; bytes: Buffer }> {
    const response = await upload(api, alice, `file.${type}`, MIME[type], data);
    assert.equal(response.status, 201, response.text);
    const content = await api.request('GET', `/uploads/${response.json.id}/content`, { token: alice });
    assert.equal(content.status, 200);
    assert.equal(content.bytes.length, response.json.size, 'the metadata describes the stored bytes');
    return { upload: response.json, bytes: content.bytes };
  }

  describe('polyglots are stored as their image alone', function () {
    it('a GIF that is also JavaScript: stored, it is no longer a script', async function () {
      // `GIF89a/*` opens a comment (the canvas width is 0x2a2f, "/*"); a comment block at the end
      // closes it, runs `GIF89a=alert(1)` and comments out the rest: `*/=alert(1);//`.
      const polyglot = gif({
        width: 0x2a2f,
        height: 12,
        frames: [{ width: 16, height: 12, colour: (x, y) => (x + y) % 4 }],
        closingComments: ['*/=alert(1);//'],
      });
      assert.equal(polyglot.toString('latin1', 0, 8), 'GIF89a/*');
      assert.doesNotThrow(() => new Script(polyglot.toString('latin1')), 'what is sent is valid JavaScript');
      const { bytes } = await storedBytes('gif', polyglot);
      assert.equal(bytes.indexOf('alert'), -1);
      assert.throws(() => new Script(bytes.toString('latin1')), SyntaxError);
      assertOnlyPixels(bytes, 'gif');
    });

    it('a PNG with an HTML page and a second IEND after its end', async function () {
      const polyglot = Buffer.concat([png(), Buffer.from(HTML), PNG_END]);
      assert.equal(pngChunks(polyglot).after.length, HTML.length + PNG_END.length);
      const { bytes } = await storedBytes('png', polyglot);
      assert.equal(bytes.indexOf('<script'), -1);
      assertOnlyPixels(bytes, 'png');
    });

    const archived: ['jpg' | 'gif', () => Buffer, Buffer][] = [
      ['jpg', () => fixture('photo.jpg'), Buffer.from([0xff, 0xd9])],
      ['gif', () => fixture('small.gif'), Buffer.from([0x3b])],
    ];
    for (const [type, image, endMarker] of archived) {
      it(`a ${type.toUpperCase()} followed by a ZIP archive whose comment ends in the image's end marker`, async function () {
        const picture = image();
        const polyglot = Buffer.concat([picture, zip('index.html', HTML, { comment: endMarker, at: picture.length })]);
        assert.ok(polyglot.subarray(-endMarker.length).equals(endMarker), 'it ends as the image would');
        assert.notEqual(polyglot.indexOf(ZIP_SIGNATURES[0]!), -1);
        const { bytes } = await storedBytes(type, polyglot);
        assert.equal(bytes.indexOf('<script'), -1);
        assertOnlyPixels(bytes, type);
      });
    }

    it('a PNG with markup in uncompressed text chunks after the first 4 KiB', async function () {
      const polyglot = png({
        chunks: [
          ['teSt', randomBytes(5000)],
          ['tEXt', 'Comment\0<svg onload=alert(1)>'],
          ['iTXt', 'Description\0\0\0en\0\0<script>alert(1)</script>'],
        ],
      });
      assert.ok(polyglot.indexOf('<svg') > 4096 && polyglot.indexOf('<script') > 4096);
      const { bytes } = await storedBytes('png', polyglot);
      assert.equal(bytes.indexOf('<svg'), -1);
      assert.equal(bytes.indexOf('<script'), -1);
      assertOnlyPixels(bytes, 'png');
    });

    for (const [what, markup] of UNLISTED_MARKUP) {
      const carriers: ['png' | 'jpg' | 'gif', string, () => Buffer][] = [
        ['png', 'a private chunk', () => png({ chunks: [['prIv', markup]] })],
        ['jpg', 'a comment segment', () => jpegWith([jpegSegment(JPEG_COMMENT, markup)])],
        ['gif', 'a comment block', () => gif({ width: 16, height: 12, frames: [{ width: 16, height: 12, colour: 1 }], comments: [markup] })],
      ];
      for (const [type, where, build] of carriers) {
        it(`markup no marker list knows, ${what}, in ${where} of a ${type.toUpperCase()}`, async function () {
          const polyglot = build();
          assert.notEqual(polyglot.indexOf(markup), -1);
          const { bytes } = await storedBytes(type, polyglot);
          assert.equal(bytes.indexOf(markup), -1);
          assertOnlyPixels(bytes, type);
        });
      }
    }
  });

  describe('metadata is dropped, the picture kept', function () {
    it('a photo with EXIF (GPS position, orientation 6), XMP and a comment: none of it is stored, and it stands upright', async function () {
      const photo = jpegWith([exifSegment({ orientation: 6 }), xmpSegment(), jpegSegment(JPEG_COMMENT, 'taken at home')]);
      assert.deepEqual(jpegSegments(photo).markers.slice(0, 3), [JPEG_APP1, JPEG_APP1, JPEG_COMMENT]);
      assert.equal(imageSize(photo).orientation, 6);
      const { upload: stored, bytes } = await storedBytes('jpg', photo);
      for (const trace of ['Exif', 'GPS', 'ns.adobe.com', 'taken at home']) assert.equal(bytes.indexOf(trace), -1, trace);
      assertOnlyPixels(bytes, 'jpg');
      // 48×32 turned a quarter clockwise: the pixels are upright, no orientation is left to apply.
      const read = imageSize(bytes);
      assert.deepEqual([read.width, read.height, read.orientation], [32, 48, undefined]);
      assert.deepEqual([stored.width, stored.height], [32, 48]);
    });

    it('an animated GIF keeps its frames, their delays and its loop, and loses its comments', async function () {
      const animation = gif({
        width: 16,
        height: 12,
        loop: 0,
        comments: ['made by hand'],
        frames: [
          { width: 16, height: 12, colour: (x, y) => (x + y) % 4, delay: 20 },
          { left: 4, top: 2, width: 8, height: 6, colour: 1, delay: 30 },
          { width: 16, height: 12, colour: 3, delay: 40 },
        ],
      });
      const { upload: stored, bytes } = await storedBytes('gif', animation);
      const blocks = gifBlocks(bytes);
      assert.equal(blocks.frames.length, 3);
      assert.deepEqual(blocks.delays, [20, 30, 40]);
      assert.ok(blocks.extensions.includes('ff:NETSCAPE2.0'), 'it still loops');
      assert.equal(bytes.indexOf('made by hand'), -1);
      assert.deepEqual([blocks.width, blocks.height, stored.width, stored.height], [16, 12, 16, 12]);
    });

    it('an image that is nothing but pixels already is stored byte for byte', async function () {
      const { bytes } = await storedBytes('png', png());
      assert.ok(bytes.equals(png()));
    });
  });

  describe('decoding is bounded', function () {
    it('a full queue (1 decoding, 2 waiting): 3 more answered 503 upload_busy with Retry-After at once, the 2 stored once their turn comes, none 500', async function () {
      const queue = createWorkQueue({ concurrency: 1, maxWaiting: 2 });
      const restore = setDecodeQueue(queue);
      let release!: () => void;
      // The spec takes the one decode slot itself, so the uploads find it busy for as long as it wants.
      const holding = queue.run(() => new Promise<void>((resolve) => (release = resolve)));
      try {
        const answered: Response[] = [];
        const uploads = Array.from({ length: 5 }, (_, i) =>
          upload(api, alice, `${i}.png`, 'image/png', png()).then((response) => {
            answered.push(response);
            return response;
          }),
        );
        await waitFor(() => answered.length === 3 && queue.waiting === 2, { timeoutMs: 5000, what: '3 answers while 2 wait', intervalMs: 5 });
        for (const busy of answered) {
          assert.equal(busy.status, 503, busy.text);
          assert.equal(busy.json.error.code, 'upload_busy');
          assert.equal(busy.headers['retry-after'], '1');
        }
        await assertNothingStored(api); // the 2 waiting have nothing half-stored either

        release();
        await holding;
        const statuses = (await Promise.all(uploads)).map((response) => response.status).sort();
        assert.deepEqual(statuses, [201, 201, 503, 503, 503]);
        assert.equal((await api.blobs.list('uploads/')).length, 2);
        assert.equal((await api.store.query('uploads', { limit: 10 })).documents.length, 2);
        assert.equal((await api.store.get('uploadQuotas', 'alice'))?.bytes, 2 * png().length);
        assert.ok(!api.logs.some((line) => line.status >= 500 && line.status !== 503), 'no 500');
        assert.equal(queue.running, 0);
      } finally {
        release?.();
        restore();
      }
    });

    it('loads sharp with the first image to re-encode, not with the uploads code', function () {
      // In a fresh process: which native addons are loaded, after importing and after a re-encode.
      const code = `
        const addons = [];
        const dlopen = process.dlopen;
        process.dlopen = (module, file, ...rest) => (addons.push(file), dlopen.call(process, module, file, ...rest));
        const sharpLoaded = () => addons.some((file) => /sharp/.test(file));
        await import('./functions/src/uploads/handlers.ts');
        const { reencodeImage } = await import('./functions/src/uploads/receive.ts').then(() => import('./functions/src/uploads/reencode.ts'));
        const { FILE_TYPES } = await import('./functions/src/uploads/file-types.ts');
        const { png } = await import('./test/support/images.ts');
        const before = sharpLoaded();
        await reencodeImage(png(), FILE_TYPES[0], { maxPixels: 1000, witnesses: {} });
        process.stdout.write(JSON.stringify({ before, after: sharpLoaded() }));
      `;
      const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], {
        cwd: new URL('../..', import.meta.url),
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { before: false, after: true });
    });
  });
});
