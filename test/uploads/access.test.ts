/**
 * Reading and deleting uploads over real HTTP: who sees what, how the bytes are served so no
 * browser renders them, what deleting removes, the per-owner quota and the create rate limit.
 */
import assert from 'node:assert/strict';
import { setDecodeQueue } from '../../functions/src/uploads/reencode.ts';
import { createWorkQueue } from '../../functions/src/work-queue.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { fixture, png } from '../support/images.ts';
import { assertNothingStored, sha256, upload } from './support.ts';

describe('uploads: reading, deleting, quota and rate limit', function () {
  let api: TestApi;
  let alice: string;
  let bob: string;
  let viewer: string;
  let admin: string;
  let adminWithMfa: string;

  beforeEach(async function () {
    api = await startApi();
    alice = await api.token({ sub: 'alice', roles: ['user'] });
    bob = await api.token({ sub: 'bob', roles: ['user'] });
    viewer = await api.token({ sub: 'vera', roles: ['viewer'] });
    admin = await api.token({ sub: 'ada', roles: ['admin'] });
    adminWithMfa = await api.token({ sub: 'ada', roles: ['admin'], mfa: true });
  });

  afterEach(async function () {
    await api.close();
  });

  async function stored(token: string, filename = 'picture.png', type = 'image/png', data: Buffer = png()) {
    const response = await upload(api, token, filename, type, data);
    assert.equal(response.status, 201, response.text);
    return response.json as { id: string; ownerId: string; size: number; sha256: string; createdAt: string };
  }

  describe('GET /uploads', function () {
    it("lists only the caller's uploads, newest first, page by page", async function () {
      const mine: { id: string; createdAt: string }[] = [];
      for (let i = 0; i < 5; i++) mine.push(await stored(alice));
      await stored(bob);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await api.request('GET', `/uploads?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: alice });
        assert.equal(page.status, 200, page.text);
        assert.ok(page.json.uploads.length <= 2);
        for (const item of page.json.uploads) {
          assert.equal(item.ownerId, 'alice');
          assert.equal(item.blobKey, undefined, "where the bytes live is the server's business");
        }
        seen.push(...page.json.uploads.map((u: { id: string }) => u.id));
        cursor = page.json.nextCursor;
      } while (cursor);
      // Newest first; uploads of the same millisecond by id, descending, as the store orders ties.
      const key = (upload: { id: string; createdAt: string }) => `${upload.createdAt}|${upload.id}`;
      assert.deepEqual(
        seen,
        [...mine].sort((a, b) => (key(a) < key(b) ? 1 : -1)).map((upload) => upload.id),
      );
    });

    it("lets admins list everyone's with scope=all, and no one else", async function () {
      await stored(alice);
      await stored(bob);
      const all = await api.request('GET', '/uploads?scope=all', { token: admin });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(all.json.uploads.map((u: { ownerId: string }) => u.ownerId).sort(), ['alice', 'bob']);
      const refused = await api.request('GET', '/uploads?scope=all', { token: alice });
      assert.equal(refused.status, 403);
    });

    it('refuses unknown query parameters and a bad limit', async function () {
      for (const query of ['?owner=bob', '?limit=0', '?limit=101', '?cursor=']) {
        const response = await api.request('GET', `/uploads${query}`, { token: alice });
        assert.equal(response.status, 400, `${query}: ${response.text}`);
      }
    });
  });

  describe('GET /uploads/:id', function () {
    it('gives the owner the metadata, and others a 404 like a missing one', async function () {
      const { id } = await stored(alice);
      const own = await api.request('GET', `/uploads/${id}`, { token: alice });
      assert.equal(own.status, 200, own.text);
      assert.equal(own.json.id, id);
      assert.equal(own.json.blobKey, undefined);
      const other = await api.request('GET', `/uploads/${id}`, { token: bob });
      const missing = await api.request('GET', '/uploads/3f2504e0-4f89-41d3-9a0c-0305e82c3301', { token: bob });
      assert.equal(other.status, 404);
      assert.deepEqual({ ...other.json.error, requestId: 0 }, { ...missing.json.error, requestId: 0 });
      assert.equal((await api.request('GET', `/uploads/${id}`, { token: admin })).status, 200, "admins read anyone's");
    });

    it('refuses an id that is not an upload id', async function () {
      for (const id of ['..%2F..%2Fetc', 'ABCDEFGHIJKLMNOPQRST', '3F2504E0-4F89-41D3-9A0C-0305E82C3301']) {
        const response = await api.request('GET', `/uploads/${id}`, { token: alice });
        assert.equal(response.status, 400, `${id}: ${response.text}`);
        assert.equal(response.json.error.code, 'validation_failed');
      }
    });
  });

  describe('GET /uploads/:id/content', function () {
    it('streams the stored bytes (which the metadata describes), as a download no browser renders or runs', async function () {
      const { id, size, sha256: hash } = await stored(alice, 'photo.jpg', 'image/jpeg', fixture('photo.jpg'));
      const response = await api.request('GET', `/uploads/${id}/content`, { token: alice });
      assert.equal(response.status, 200);
      assert.equal(sha256(response.bytes), hash);
      assert.equal(response.headers.etag, `"${hash}"`);
      assert.equal(response.headers['content-type'], 'image/jpeg');
      assert.equal(response.headers['content-length'], String(size));
      assert.equal(response.bytes.length, size);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
      assert.equal(response.headers['content-disposition'], 'attachment; filename=photo.jpg');
      const csp = String(response.headers['content-security-policy'])
        .split(';')
        .map((d) => d.trim());
      assert.ok(csp.includes('sandbox'), csp.join('; '));
      assert.ok(csp.includes("default-src 'none'"));
      assert.equal(response.headers['cache-control'], 'private, no-store');
      assert.equal(response.headers['cross-origin-resource-policy'], 'same-origin');
    });

    it('names a non-ASCII file safely in Content-Disposition (RFC 6266 filename*)', async function () {
      const { id } = await stored(alice, 'été x.png');
      const response = await api.request('GET', `/uploads/${id}/content`, { token: alice });
      assert.equal(response.headers['content-disposition'], `attachment; filename="?t? x.png"; filename*=UTF-8''%C3%A9t%C3%A9%20x.png`);
    });

    it('serves the sniffed type, whatever a client claims later', async function () {
      const { id } = await stored(alice, 'small.gif', 'image/gif', fixture('small.gif'));
      const response = await api.request('GET', `/uploads/${id}/content`, { token: alice, headers: { accept: 'text/html' } });
      assert.equal(response.headers['content-type'], 'image/gif');
    });

    it("is 404 for another user's upload", async function () {
      const { id } = await stored(alice);
      assert.equal((await api.request('GET', `/uploads/${id}/content`, { token: bob })).status, 404);
    });
  });

  describe('DELETE /uploads/:id', function () {
    it('removes the bytes and the metadata, and gives the quota back', async function () {
      const { id, size } = await stored(alice);
      assert.equal((await api.store.get('uploadQuotas', 'alice'))?.bytes, size);
      const response = await api.request('DELETE', `/uploads/${id}`, { token: alice });
      assert.equal(response.status, 204);
      assert.equal((await api.request('GET', `/uploads/${id}`, { token: alice })).status, 404);
      assert.equal((await api.request('GET', `/uploads/${id}/content`, { token: alice })).status, 404);
      await assertNothingStored(api);
      assert.equal((await api.request('DELETE', `/uploads/${id}`, { token: alice })).status, 404, 'a second delete finds nothing');
    });

    it("is 404 for another user's upload, which stays", async function () {
      const { id } = await stored(alice);
      assert.equal((await api.request('DELETE', `/uploads/${id}`, { token: bob })).status, 404);
      assert.equal((await api.blobs.list('uploads/')).length, 1);
      assert.equal((await api.request('GET', `/uploads/${id}`, { token: alice })).status, 200);
    });

    it("lets an admin delete another user's upload only with an MFA sign-in", async function () {
      const { id } = await stored(alice);
      assert.equal((await api.request('DELETE', `/uploads/${id}`, { token: admin })).status, 403);
      assert.equal((await api.blobs.list('uploads/')).length, 1);
      assert.equal((await api.request('DELETE', `/uploads/${id}`, { token: adminWithMfa })).status, 204);
      assert.deepEqual(await api.blobs.list('uploads/'), []);
    });
  });

  describe('roles', function () {
    it('lets viewers read but not upload or delete; without a token nothing', async function () {
      const { id } = await stored(alice);
      assert.equal((await upload(api, viewer, 'a.png', 'image/png', png())).status, 403);
      assert.equal((await api.request('GET', '/uploads', { token: viewer })).status, 200);
      assert.equal((await api.request('DELETE', `/uploads/${id}`, { token: viewer })).status, 403);
      for (const [method, path] of [
        ['GET', '/uploads'],
        ['POST', '/uploads'],
        ['GET', `/uploads/${id}`],
        ['GET', `/uploads/${id}/content`],
        ['DELETE', `/uploads/${id}`],
      ]) {
        assert.equal((await api.request(method!, path!)).status, 401, `${method} ${path}`);
      }
      assert.equal((await api.blobs.list('uploads/')).length, 1);
    });
  });

  describe('quota per owner (UPLOAD_QUOTA_BYTES_PER_USER), in stored bytes', function () {
    let small: TestApi;
    let token: string;
    // png() is stored as it is (re-encoding it gives the same bytes): each one costs its length.
    const ONE = png().length;
    const FITS = 7;
    const QUOTA = FITS * ONE; // the smallest quota allowed is 1024 bytes

    beforeEach(async function () {
      small = await startApi({ UPLOAD_QUOTA_BYTES_PER_USER: String(QUOTA) });
      token = await small.token({ sub: 'alice' });
    });

    afterEach(async function () {
      await small.close();
    });

    it('refuses the file that would go over with 413 quota_exceeded, and keeps nothing of it', async function () {
      for (let i = 0; i < FITS - 1; i++) assert.equal((await upload(small, token, `${i}.png`, 'image/png', png())).json.size, ONE);
      const over = await upload(small, token, 'b.png', 'image/png', png({ bytes: ONE + 20 }));
      assert.equal(over.status, 413, over.text);
      assert.equal(over.json.error.code, 'quota_exceeded');
      assert.equal((await small.blobs.list('uploads/')).length, FITS - 1);
      assert.equal((await small.store.get('uploadQuotas', 'alice'))?.bytes, (FITS - 1) * ONE);
      assert.equal((await upload(small, token, 'c.png', 'image/png', png())).status, 201, 'what fits still fits');
      const full = await upload(small, token, 'd.png', 'image/png', png());
      assert.equal(full.status, 413);
      assert.equal(full.json.error.code, 'quota_exceeded');
    });

    it('holds under concurrent uploads: what is stored never exceeds the quota', async function () {
      // A decode queue with room for all of them: the race is between the quota's transactions.
      const restore = setDecodeQueue(createWorkQueue({ concurrency: 2, maxWaiting: FITS + 2 }));
      const responses = await Promise.all(Array.from({ length: FITS + 2 }, (_, i) => upload(small, token, `${i}.png`, 'image/png', png()))).finally(restore);
      const created = responses.filter((r) => r.status === 201).length;
      assert.equal(created, FITS, responses.map((r) => r.status).join(','));
      assert.ok(responses.every((r) => r.status === 201 || r.json.error.code === 'quota_exceeded'));
      assert.equal((await small.blobs.list('uploads/')).length, FITS);
      assert.equal((await small.store.get('uploadQuotas', 'alice'))?.bytes, QUOTA);
    });

    it('is per owner: another user has a quota of their own', async function () {
      for (let i = 0; i < FITS; i++) assert.equal((await upload(small, token, `${i}.png`, 'image/png', png())).status, 201);
      assert.equal((await upload(small, token, 'more.png', 'image/png', png())).status, 413);
      const other = await small.token({ sub: 'bob' });
      assert.equal((await upload(small, other, 'a.png', 'image/png', png())).status, 201);
    });
  });

  describe('rate limit on creates', function () {
    it('stores at most 5 uploads a minute per user by default, answering 429 with Retry-After', async function () {
      const limited = await startApi({ RATE_LIMIT_CREATE_PER_MINUTE: '5' });
      try {
        const token = await limited.token({ sub: 'alice' });
        const statuses = [];
        for (let i = 0; i < 7; i++) {
          const response = await upload(limited, token, `${i}.png`, 'image/png', png());
          statuses.push(response.status);
          if (response.status === 429) assert.ok(Number(response.headers['retry-after']) > 0);
        }
        assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429]);
        assert.equal((await limited.blobs.list('uploads/')).length, 5);
        const other = await limited.token({ sub: 'bob' });
        assert.equal((await upload(limited, other, 'a.png', 'image/png', png())).status, 201, 'per user');
      } finally {
        await limited.close();
      }
    });
  });
});
