/**
 * Uploads over real HTTP: which files are stored and how, which are refused and why, and that
 * a refused file leaves nothing behind. (What re-encoding takes out of a stored file:
 * reencode.test.ts.)
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { imageSize } from 'image-size';
import { fixture, gif, gifDeclaring, gifFrameDeclaring, jpegDeclaring, png } from '../support/images.ts';
import { fileForm, multipart } from '../support/multipart.ts';
import { UUID, assertNothingStored, postForm, sha256, upload } from './support.ts';

const MiB = 1024 * 1024;

/** Start of image, a JFIF header, end of image: a JPEG with nothing that says its size. */
const JPEG_WITHOUT_FRAME = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>';
const HTML = '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>';

describe('uploads', function () {
  let api: TestApi;
  let alice: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
  });

  afterEach(async function () {
    await api.close();
  });

  describe('POST /uploads stores an image', function () {
    const accepted: [string, string, () => Buffer, { contentType: string; extension: string; width: number; height: number }][] = [
      ['picture.png', 'image/png', () => png(), { contentType: 'image/png', extension: 'png', width: 24, height: 16 }],
      ['photo.jpg', 'image/jpeg', () => fixture('photo.jpg'), { contentType: 'image/jpeg', extension: 'jpg', width: 48, height: 32 }],
      ['Photo.JPEG', 'image/jpeg', () => fixture('photo.jpg'), { contentType: 'image/jpeg', extension: 'jpg', width: 48, height: 32 }],
      ['small.gif', 'image/gif', () => fixture('small.gif'), { contentType: 'image/gif', extension: 'gif', width: 16, height: 12 }],
    ];
    for (const [filename, declared, bytes, expected] of accepted) {
      it(`${filename} (${declared}): under a fresh UUID with the canonical extension, with the metadata of the stored bytes`, async function () {
        const response = await upload(api, alice, filename, declared, bytes());
        assert.equal(response.status, 201, response.text);
        const body = response.json;
        assert.match(body.id, UUID);
        assert.equal(response.headers.location, `/uploads/${body.id}`);
        const key = `uploads/alice/${body.id}.${expected.extension}`;
        assert.deepEqual(await api.blobs.list('uploads/'), [key]);
        const stored = (await api.request('GET', `/uploads/${body.id}/content`, { token: alice })).bytes;
        // Read with image-size, which has no part in storing it.
        assert.deepEqual({ ...imageSize(stored) }, { type: expected.extension, width: expected.width, height: expected.height });
        assert.deepEqual(
          { ...body, createdAt: undefined },
          {
            id: body.id,
            ownerId: 'alice',
            size: stored.length,
            sha256: sha256(stored),
            contentType: expected.contentType,
            originalName: filename,
            width: expected.width,
            height: expected.height,
            createdAt: undefined,
          },
        );
        assert.ok(Math.abs(Date.parse(body.createdAt) - Date.now()) < 60_000);
        assert.deepEqual(await api.blobs.stat(key), { size: stored.length, contentType: expected.contentType });
        const document = await api.store.get('uploads', body.id);
        assert.equal(document?.blobKey, key);
        assert.equal(document?.sha256, sha256(stored));
      });
    }

    it("keeps the client's file name only as sanitised metadata, never in the stored name", async function () {
      const names: [string, string][] = [
        ['../../etc/passwd.png', 'passwd.png'],
        ['C:\\Users\\me\\cat.png', 'cat.png'],
        ['evil\u202Egnp.exe.png', 'evilgnp.exe.png'],
        ['tab\tand\u0085next.png', 'tabandnext.png'],
        // One of each class the text rule (validation/text.ts) removes from a file name.
        ['arabic\u061Cmark.png', 'arabicmark.png'],
        ['iso\u2066late\u2069.png', 'isolate.png'],
        ['zero\u200Bwidth\u2060\uFEFF.png', 'zerowidth.png'],
        ['tag\u{E0001}\u{E0041}\u{E007F}s.png', 'tags.png'],
        ['line\u2028para\u2029.png', 'linepara.png'],
        ['private\uE000\u{F0000}.png', 'private.png'],
        ['filler\u3164.png', 'filler.png'],
        ['unassigned\u0378.png', 'unassigned.png'],
        ['Cafe\u0301.png', 'Café.png'],
        ['👩\u200D💻 and می\u200Cخواهم.png', '👩\u200D💻 and می\u200Cخواهم.png'],
        [`${'a'.repeat(300)}.png`, `${'a'.repeat(196)}.png`],
        ['café.png', 'café.png'],
      ];
      for (const [sent, kept] of names) {
        const response = await upload(api, alice, sent, 'image/png', png());
        assert.equal(response.status, 201, `${sent}: ${response.text}`);
        assert.equal(response.json.originalName, kept);
      }
      const keys = await api.blobs.list('uploads/');
      assert.equal(keys.length, names.length);
      for (const key of keys) assert.match(key, /^uploads\/alice\/[0-9a-f-]{36}\.png$/);
    });

    it('takes a file of exactly the size limit', async function () {
      const response = await upload(api, alice, 'big.png', 'image/png', png({ bytes: 5 * MiB }));
      assert.equal(response.status, 201, response.text);
      // Stored re-encoded: the 5 MiB of a private chunk are not image data, and are gone.
      assert.equal(response.json.size, png().length);
    });

    it("puts the owner's id into the path only when it is a plain id", async function () {
      const odd = await api.token({ sub: '../../x/y', roles: ['user'] });
      const response = await upload(api, odd, 'a.png', 'image/png', png());
      assert.equal(response.status, 201, response.text);
      assert.equal(response.json.ownerId, '../../x/y');
      const [key] = await api.blobs.list('uploads/');
      assert.equal(key, `uploads/~${Buffer.from('../../x/y').toString('base64url')}/${response.json.id}.png`);
    });
  });

  describe('POST /uploads refuses a file whose type witnesses disagree, with 415 naming which', function () {
    const refused: [string, string, string, () => Buffer | string, string][] = [
      ['a PNG renamed .gif', 'renamed.gif', 'image/gif', () => png(), 'extension_mismatch'],
      ['a PNG renamed .jpg, declared as PNG', 'renamed.jpg', 'image/png', () => png(), 'extension_mismatch'],
      ['a PNG declared as a GIF', 'picture.png', 'image/gif', () => png(), 'declared_type_mismatch'],
      ['a JPEG declared as a PNG', 'photo.jpg', 'image/png', () => fixture('photo.jpg'), 'declared_type_mismatch'],
      ['an HTML page renamed .png', 'page.png', 'image/png', () => HTML, 'content_not_allowed'],
      ['an SVG renamed .png', 'drawing.png', 'image/png', () => SVG, 'content_not_allowed'],
      ['an SVG', 'drawing.svg', 'image/svg+xml', () => SVG, 'extension_not_allowed'],
      ['an HTML page', 'page.html', 'text/html', () => HTML, 'extension_not_allowed'],
      ['a PNG declared as HTML', 'picture.png', 'text/html', () => png(), 'declared_type_not_allowed'],
      ['a PNG without an extension', 'picture', 'image/png', () => png(), 'extension_not_allowed'],
      ['a WebP (not an accepted type)', 'pic.png', 'image/png', () => Buffer.concat([Buffer.from('RIFF\x24\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(40)]), 'content_not_allowed'],
      ['a PDF renamed .gif', 'doc.gif', 'image/gif', () => Buffer.from('%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF'), 'content_not_allowed'],
      ['a truncated PNG', 'cut.png', 'image/png', () => png().subarray(0, 60), 'image_unreadable'],
      ['a PNG whose image data is not what its header says', 'lie.png', 'image/png', () => png({ width: 2000, height: 2000 }), 'image_unreadable'],
      ['a truncated JPEG', 'cut.jpg', 'image/jpeg', () => fixture('photo.jpg').subarray(0, 250), 'image_unreadable'],
      ['a GIF cut in its image data', 'cut.gif', 'image/gif', () => fixture('small.gif').subarray(0, 60), 'image_unreadable'],
      ['a PNG signature alone', 'bare.png', 'image/png', () => png().subarray(0, 8), 'content_not_allowed'],
      ['a JPEG without a frame header (no dimensions)', 'bare.jpg', 'image/jpeg', () => JPEG_WITHOUT_FRAME, 'image_unreadable'],
    ];
    for (const [what, filename, declared, bytes, code] of refused) {
      it(`${what}: ${code}, nothing stored`, async function () {
        const response = await upload(api, alice, filename, declared, bytes());
        assert.equal(response.status, 415, response.text);
        assert.equal(response.json.error.code, code);
        assert.equal(typeof response.json.error.message, 'string');
        assert.equal(response.json.error.details.declaredType, declared);
        await assertNothingStored(api);
      });
    }

    it('says what each witness said', async function () {
      const response = await upload(api, alice, 'renamed.gif', 'image/gif', png());
      assert.deepEqual(response.json.error.details, { extension: 'gif', declaredType: 'image/gif', sniffedType: 'image/png' });
    });
  });

  describe('POST /uploads refuses other bad files and forms', function () {
    it('a 0-byte file: 400 empty_file, nothing stored', async function () {
      const response = await upload(api, alice, 'empty.png', 'image/png', Buffer.alloc(0));
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json.error.code, 'empty_file');
      await assertNothingStored(api);
    });

    it('a file one byte over the size limit: 413 file_too_large, nothing stored', async function () {
      const response = await upload(api, alice, 'big.png', 'image/png', png({ bytes: 5 * MiB + 1 }));
      assert.equal(response.status, 413, response.text);
      assert.equal(response.json.error.code, 'file_too_large');
      assert.equal(response.json.error.details.limitBytes, 5 * MiB);
      await assertNothingStored(api);
    });

    it('a body declaring more than the limit allows: 413 before it is read', async function () {
      const response = await api.request('POST', '/uploads', {
        token: alice,
        raw: 'x',
        headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(64 * MiB) },
      });
      assert.equal(response.status, 413, response.text);
      assert.equal(response.json.error.code, 'file_too_large');
      assert.equal(response.headers.connection, 'close');
      await assertNothingStored(api);
    });

    it('two files in one request: 413 too_many_files, and not even the first is kept', async function () {
      const form = multipart([
        { name: 'file', filename: 'one.png', contentType: 'image/png', data: png() },
        { name: 'file', filename: 'two.png', contentType: 'image/png', data: png() },
      ]);
      const response = await postForm(api, alice, form);
      assert.equal(response.status, 413, response.text);
      assert.equal(response.json.error.code, 'too_many_files');
      await assertNothingStored(api);
    });

    it('a field besides the file: 400 unexpected_field, nothing stored', async function () {
      for (const parts of [
        [
          { name: 'file', filename: 'a.png', contentType: 'image/png', data: png() },
          { name: 'isAdmin', data: 'true' },
        ],
        [
          { name: 'ownerId', data: 'bob' },
          { name: 'file', filename: 'a.png', contentType: 'image/png', data: png() },
        ],
        [{ name: 'avatar', filename: 'a.png', contentType: 'image/png', data: png() }],
      ]) {
        const response = await postForm(api, alice, multipart(parts));
        assert.equal(response.status, 400, response.text);
        assert.equal(response.json.error.code, 'unexpected_field');
      }
      await assertNothingStored(api);
    });

    it("a part header past 16 KiB (busboy's bound): 400 malformed_multipart, nothing stored", async function () {
      const response = await postForm(api, alice, fileForm(`${'a'.repeat(17 * 1024)}.png`, 'image/png', png()));
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json.error.code, 'malformed_multipart');
      await assertNothingStored(api);
    });

    it('a form without a file: 400 file_required', async function () {
      const response = await postForm(api, alice, multipart([]));
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json.error.code, 'file_required');
    });

    it('a body that is not multipart: 415, and one without a boundary: 415', async function () {
      const json = await api.request('POST', '/uploads', { token: alice, body: { file: 'iVBORw0KGgo=' } });
      assert.equal(json.status, 415, json.text);
      const noBoundary = await api.request('POST', '/uploads', { token: alice, raw: 'x', headers: { 'content-type': 'multipart/form-data' } });
      assert.equal(noBoundary.status, 415, noBoundary.text);
      await assertNothingStored(api);
    });

    it('a multipart body that breaks off without its closing boundary: 400 malformed_multipart, nothing stored', async function () {
      const form = fileForm('a.png', 'image/png', png());
      const cut = form.body.subarray(0, form.body.length - 30);
      const response = await api.request('POST', '/uploads', { token: alice, raw: cut, headers: { 'content-type': form.contentType } });
      assert.equal(response.status, 400, response.text);
      assert.equal(response.json.error.code, 'malformed_multipart');
      await assertNothingStored(api);
    });
  });

  describe('decompression bombs: images declaring more pixels than the limit', function () {
    const bombs: [string, string, string, () => Buffer][] = [
      ['a PNG declaring 100000×100000', 'bomb.png', 'image/png', () => png({ width: 100_000, height: 100_000 })],
      ['a JPEG declaring 60000×60000', 'bomb.jpg', 'image/jpeg', () => jpegDeclaring(60_000, 60_000)],
      ['a GIF declaring 65535×65535', 'bomb.gif', 'image/gif', () => gifDeclaring(65_535, 65_535)],
    ];
    for (const [what, filename, declared, bytes] of bombs) {
      it(`${what}: 413 image_too_large, nothing stored`, async function () {
        const response = await upload(api, alice, filename, declared, bytes());
        assert.equal(response.status, 413, response.text);
        assert.equal(response.json.error.code, 'image_too_large');
        assert.equal(response.json.error.details.maxPixels, 25_000_000);
        await assertNothingStored(api);
      });
    }

    it('a GIF whose one frame claims 65535×65535 on a 16×12 canvas: 413 image_too_large before it is decoded, nothing stored', async function () {
      const bomb = gifFrameDeclaring(65_535, 65_535);
      assert.equal(bomb.readUInt16LE(6) * bomb.readUInt16LE(8), 16 * 12, 'the header alone says 16×12');
      const response = await upload(api, alice, 'frame.gif', 'image/gif', bomb);
      assert.equal(response.status, 413, response.text);
      assert.equal(response.json.error.code, 'image_too_large');
      assert.equal(response.json.error.details.maxPixels, 25_000_000);
      await assertNothingStored(api);
    });

    it("counts every frame of an animation, and holds a GIF's canvas to a quarter of the limit", async function () {
      const small = await startApi({ UPLOAD_MAX_PIXELS: String(40_000) });
      try {
        const token = await small.token({ sub: 'alice' });
        const frame = { left: 0, top: 0, width: 1, height: 1, colour: 1 };
        const frames = (n: number) => Array.from({ length: n }, (_, i) => ({ ...frame, colour: 1 + (i % 3) }));
        // 100×100 is a quarter of 40000: four frames of it are the whole limit.
        const four = await upload(small, token, 'four.gif', 'image/gif', gif({ width: 100, height: 100, frames: frames(4) }));
        assert.equal(four.status, 201, four.text);
        await small.request('DELETE', `/uploads/${four.json.id}`, { token });
        const refused: [string, Buffer, number][] = [
          ['five frames of 100×100', gif({ width: 100, height: 100, frames: frames(5) }), 40_000],
          ['one frame on a 101×100 canvas', gif({ width: 101, height: 100, frames: frames(1) }), 10_000],
          ['a 1×1 canvas whose frame grows it to 120×120', gif({ width: 1, height: 1, frames: [{ ...frame, width: 120, height: 120 }] }), 10_000],
        ];
        for (const [what, bomb, maxPixels] of refused) {
          const response = await upload(small, token, 'bomb.gif', 'image/gif', bomb);
          assert.equal(response.status, 413, `${what}: ${response.text}`);
          assert.equal(response.json.error.code, 'image_too_large', what);
          assert.equal(response.json.error.details.maxPixels, maxPixels, what);
        }
        await assertNothingStored(small);
      } finally {
        await small.close();
      }
    });

    it('the limit is inclusive and configurable (UPLOAD_MAX_PIXELS)', async function () {
      const small = await startApi({ UPLOAD_MAX_PIXELS: String(24 * 16) });
      try {
        const token = await small.token({ sub: 'alice' });
        assert.equal((await upload(small, token, 'fits.png', 'image/png', png())).status, 201);
        const over = await upload(small, token, 'over.png', 'image/png', png({ width: 25 }));
        assert.equal(over.status, 413, over.text);
        assert.equal(over.json.error.code, 'image_too_large');
      } finally {
        await small.close();
      }
    });
  });
});
