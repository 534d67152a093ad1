/**
 * Taking your data and leaving, over real HTTP: the export holds the account without its
 * secrets, its items, its uploads' metadata and its sessions; deletion needs the same proof as a
 * password change, refuses the last admin, and leaves nothing of the account in any collection
 * the code has written or in the bucket — the spec lists what is left: nameless rate-limit
 * counters, and the audit log, whose events name the account by its id only.
 */
import assert from 'node:assert/strict';
import { startApi, type TestApi } from '../support/api.ts';
import { png } from '../support/images.ts';
import { fileForm } from '../support/multipart.ts';
import { registerVerified } from '../support/outbox.ts';
import { recordingStore } from '../support/stores.ts';
import { currentCode } from '../support/totp.ts';

const EMAIL = 'katherine@example.com';
const PASSWORD = 'correct horse battery staple';

describe('exporting and deleting an account (auth/account-data.ts)', function () {
  let api: TestApi;
  let written: Map<string, boolean>;
  let uid: string;
  let token: string;
  let refreshToken: string;

  beforeEach(async function () {
    const recording = recordingStore();
    written = recording.written;
    api = await startApi({}, { store: recording.store });
    uid = (await registerVerified(api, EMAIL, PASSWORD)).id;
    ({ accessToken: token, refreshToken } = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json);
  });

  afterEach(async function () {
    await api.close();
  });

  /** An account with something everywhere: items, an upload, MFA, two sessions, a link of each kind waiting, a mail still queued. */
  async function fill(): Promise<void> {
    for (const name of ['Lamp', 'Desk']) {
      const created = await api.request('POST', '/items', { token, body: { name, description: 'Warm light' } });
      assert.equal(created.status, 201, created.text);
    }
    const form = fileForm('photo.png', 'image/png', png());
    assert.equal((await api.request('POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType } })).status, 201);
    const secret = (await api.request('POST', '/auth/mfa/enroll', { token })).json.secret as string;
    assert.equal((await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(secret) } })).status, 200);
    await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } }); // a challenge left open
    await api.request('POST', '/auth/password/forgot', { body: { email: EMAIL } });
    await api.request('POST', '/auth/email/change', { token, body: { newEmail: 'kj@example.com', currentPassword: PASSWORD } });
    await api.store.create('mailQueue', 'queued-for-katherine', { kind: 'verify-email', to: EMAIL, subject: 'x', text: 'x', html: 'x', attempts: 1, nextAttemptAt: 0 });
  }

  const mentions = (value: unknown) => {
    const text = JSON.stringify(value);
    return text.includes(uid) || text.toLowerCase().includes(EMAIL);
  };

  it('exports the account without its secrets, its items, its uploads without their blob locations, and its sessions', async function () {
    await fill();
    const response = await api.request('GET', '/auth/account/export', { token });
    assert.equal(response.status, 200, response.text);
    assert.match(String(response.headers['content-disposition']), /^attachment; filename="account-export\.json"$/);
    const data = response.json;
    assert.deepEqual([data.account.id, data.account.email, data.account.mfaEnabled], [uid, EMAIL, true]);
    assert.deepEqual(data.items.map((item: { name: string }) => item.name).sort(), ['Desk', 'Lamp']);
    assert.equal(data.uploads.length, 1);
    assert.equal(data.uploads[0].originalName, 'photo.png');
    assert.ok(data.sessions.length >= 1);
    for (const secret of ['passwordHash', 'blobKey', 'recoveryCodes', 'mfaPending', '"secret"', 'scrypt$']) assert.ok(!response.text.includes(secret), secret);
  });

  it('deletes everything of the account: nothing in any collection the code wrote names it, and its blobs are gone', async function () {
    await fill();
    const deleted = await api.request('POST', '/auth/account/delete', { token, body: { currentPassword: PASSWORD } });
    assert.equal(deleted.status, 200, deleted.text);
    // One session: turning MFA on ended none, and the sign-in after it waits at its challenge.
    assert.deepEqual(deleted.json.deleted, { uploads: 1, items: 2, sessions: 1, documents: deleted.json.deleted.documents });
    assert.ok(deleted.json.deleted.documents >= 5, JSON.stringify(deleted.json));

    const left: Record<string, number> = {};
    for (const collection of written.keys()) {
      const { documents } = await api.store.query(collection, { limit: 1000 });
      if (documents.length > 0) left[collection] = documents.length;
      // The audit log is the admins' record of security events, kept for its retention: its
      // events name the account by its id (never its address), the deletion among them.
      const naming = documents.filter((document) => (collection === 'auditEvents' ? JSON.stringify(document).toLowerCase().includes(EMAIL) : mentions(document)));
      assert.deepEqual(naming, [], `${collection} still names the account`);
    }
    // What is left: rate-limit counters (hashed keys, points and a window's end: nothing that
    // names anyone), which expire with their window, and the audit log.
    assert.deepEqual(Object.keys(left).sort(), ['auditEvents', 'rateLimits']);
    const { documents: events } = await api.store.query<{ kind: string; subjectId: string }>('auditEvents', { limit: 100 });
    assert.ok(events.some((event) => event.data.kind === 'account_deleted' && event.data.subjectId === uid));
    assert.deepEqual(await api.blobs.list(''), []);

    assert.equal((await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).status, 401);
    assert.equal((await api.request('POST', '/auth/register', { body: { email: EMAIL, password: PASSWORD } })).status, 202, 'the address is free again');
  });

  it('answers two racing deletions without a fault (the second finds the account gone or finishes the same work), and nothing of the account is left', async function () {
    await fill();
    const answers = await Promise.all([0, 1].map(() => api.request('POST', '/auth/account/delete', { token, body: { currentPassword: PASSWORD } })));
    for (const answer of answers) assert.ok([200, 401].includes(answer.status), answer.text);
    assert.ok(answers.some((answer) => answer.status === 200));
    assert.equal(await api.store.get('users', uid), null);
    assert.deepEqual(await api.blobs.list(''), []);
    assert.deepEqual((await api.store.query('items', { where: { ownerId: uid }, limit: 10 })).documents, []);
  });

  it('needs the current password (or an MFA sign-in of the last 5 minutes), and deletes nothing without it', async function () {
    await fill();
    const bare = await api.request('POST', '/auth/account/delete', { token, body: {} });
    assert.equal(bare.json.error.code, 'reauthentication_required');
    const wrong = await api.request('POST', '/auth/account/delete', { token, body: { currentPassword: 'not the right one' } });
    assert.equal(wrong.json.error.code, 'current_password_wrong');
    assert.equal((await api.store.query('items', { where: { ownerId: uid }, limit: 10 })).documents.length, 2);
    assert.ok(await api.store.get('users', uid));
  });

  it('refuses to delete the last admin, touching nothing', async function () {
    const { setRoles } = await import('../../functions/src/auth/roles.ts');
    await setRoles(api.store, uid, ['user', 'admin']);
    const refused = await api.request('POST', '/auth/account/delete', { token, body: { currentPassword: PASSWORD } });
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, 'last_admin');
    assert.ok(await api.store.get('users', uid));
    assert.equal((await api.request('POST', '/auth/refresh', { body: { refreshToken } })).status, 200, 'its sessions go on');
    assert.equal((await api.request('GET', '/auth/me', { token })).status, 200);
  });
});
