/**
 * firestore.indexes.json's TTL policies: Firestore deletes expired documents only where a TTL
 * policy names their `expiresAt`, and the driver only hides them until then. Which
 * collections get an `expiresAt` is read off the code as it runs: every account and data flow
 * goes through the real API on a store that records each write, and the collections that
 * received an `expiresAt` must be exactly the ones with a policy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { currentCode } from './support/totp.ts';
import { EXPIRES_AT } from '../functions/src/store/port.ts';
import { startApi, type TestApi } from './support/api.ts';
import { registerVerified } from './support/outbox.ts';
import { png } from './support/images.ts';
import { fileForm } from './support/multipart.ts';
import { startAppCheckIssuer, type AppCheckIssuer } from './support/app-check.ts';
import { signedHeaders } from '../functions/src/auth/request-signing.ts';
import { recordingStore } from './support/stores.ts';

const indexes = JSON.parse(readFileSync(new URL('../firestore.indexes.json', import.meta.url), 'utf8')) as {
  fieldOverrides?: { collectionGroup: string; fieldPath: string; ttl?: boolean }[];
};
const ttlCollections = new Set((indexes.fieldOverrides ?? []).filter((o) => o.ttl && o.fieldPath === EXPIRES_AT).map((o) => o.collectionGroup));

/** The real embedded store, noting for every collection written whether a document carried `expiresAt`. */
describe('TTL policies (firestore.indexes.json)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let written: Map<string, boolean>;
  let appCheck: AppCheckIssuer;

  before(async function () {
    const recording = recordingStore();
    written = recording.written;
    appCheck = await startAppCheckIssuer();
    api = await startApi({ RATE_LIMIT_API_PER_MINUTE: '1000', APP_CHECK_AUTH: 'monitor', ...appCheck.env }, { store: recording.store });
    const email = 'ttl@example.com';
    const password = 'correct-horse-battery-staple-1815';
    // Every flow that writes: accounts and their confirmation link and mail, sessions (body and
    // cookie), refresh, MFA and its challenge, failed logins, items, uploads, role changes, a
    // reset link, an address change, logout, an App Check token consumed, a signed request; rate limits on all.
    await registerVerified(api, email, password);
    await api.request('POST', '/auth/login', { body: { email, password: 'not the password at all' }, headers: { 'x-firebase-appcheck': await appCheck.token() } });
    const login = await api.request('POST', '/auth/login', { body: { email, password } });
    const refreshed = await api.request('POST', '/auth/refresh', { body: { refreshToken: login.json.refreshToken } });
    const token = refreshed.json.accessToken as string;
    const enrolled = await api.request('POST', '/auth/mfa/enroll', { token });
    const activated = await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(enrolled.json.secret) } });
    const challenge = (await api.request('POST', '/auth/login', { body: { email, password } })).json.challenge;
    const verified = await api.request('POST', '/auth/mfa/verify', { body: { challenge, recoveryCode: activated.json.recoveryCodes[0], session: 'cookie' } });
    assert.equal(verified.status, 200, verified.text);
    const item = await api.request('POST', '/items', { token, body: { name: 'Lamp', description: 'Warm' } });
    await api.request('PATCH', `/items/${item.json.id}`, { token, body: { name: 'Floor lamp' } });
    const form = fileForm('a.png', 'image/png', png());
    await api.request('POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType } });
    const admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
    await api.request('PUT', `/auth/users/${login.json.user.id}/roles`, { token: admin, body: { roles: ['user', 'viewer'] } });
    await api.request('POST', '/auth/password/forgot', { body: { email } });
    await api.request('POST', '/auth/email/change', { token, body: { newEmail: 'ttl.new@example.com', currentPassword: password } });
    await api.request('POST', '/auth/logout', { body: { refreshToken: refreshed.json.refreshToken } });
    const service = await api.request('POST', '/auth/service-credentials', { token: admin, body: { name: 'ttl job', roles: ['viewer'] } });
    const signed = signedHeaders({ keyId: service.json.credential.keyId, secret: service.json.secret, method: 'GET', url: new URL('/items', api.url) });
    assert.equal((await api.request('GET', '/items', { headers: signed })).status, 200);
  });

  after(async function () {
    await api?.close();
    await appCheck?.close();
  });

  it('covers every collection the code writes with expiresAt', function () {
    const expiring = [...written].filter(([, expires]) => expires).map(([collection]) => collection);
    assert.ok(expiring.length >= 4, `the flows reached the expiring collections: ${expiring.join(', ')}`);
    const missing = expiring.filter((collection) => !ttlCollections.has(collection));
    assert.deepEqual(missing, [], 'add a TTL field override on expiresAt for these to firestore.indexes.json');
  });

  it('has no policy for a collection the code never writes with expiresAt', function () {
    const stale = [...ttlCollections].filter((collection) => written.get(collection) !== true);
    assert.deepEqual(stale, [], 'a TTL policy for a collection whose documents never expire');
  });

  it('indexes nothing on expiresAt: it is only ever a deadline, never queried', function () {
    for (const override of indexes.fieldOverrides ?? []) {
      if (override.fieldPath === EXPIRES_AT) assert.deepEqual((override as { indexes?: unknown[] }).indexes, [], override.collectionGroup);
    }
  });
});
