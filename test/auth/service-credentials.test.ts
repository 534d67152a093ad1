/**
 * Signed server-to-server requests, over real HTTP, signed with the helper Node callers use
 * (auth/request-signing.ts): an admin creates a service credential (its secret shown once, kept
 * only sealed); a request signed with it acts with the credential's roles; a wrong signature, a
 * changed method, path, query or body, a timestamp outside the window, a replay (also a racing
 * one), a revoked key are each refused with 401 and their own code; a rotation keeps the previous
 * secret for its overlap only.
 */
import assert from 'node:assert/strict';
import { signedHeaders } from '../../functions/src/auth/request-signing.ts';
import { SERVICE_CREDENTIALS } from '../../functions/src/auth/service-credentials.ts';
import { generateTotpKeys } from '../../functions/src/config/totp-keys.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { memoryStore, withOverrides } from '../support/stores.ts';

interface Credential {
  keyId: string;
  secret: string;
}

describe('service credentials and signed requests (auth/service-credentials.ts, pipeline/signed-request.ts)', function () {
  let api: TestApi;
  let admin: string;

  beforeEach(async function () {
    api = await startApi();
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
  });

  afterEach(async function () {
    await api.close();
  });

  async function create(roles: string[] = ['user'], name = 'nightly export'): Promise<Credential> {
    const response = await api.request('POST', '/auth/service-credentials', { token: admin, body: { name, roles } });
    assert.equal(response.status, 201, response.text);
    return { keyId: response.json.credential.keyId as string, secret: response.json.secret as string };
  }

  /** Sends a request signed by `signer` (what was signed may differ from what is sent, for the forgeries). */
  function signed(
    credential: Credential,
    method: string,
    path: string,
    options: { body?: unknown; signAs?: { method?: string; path?: string; body?: string }; now?: number } = {},
  ) {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers = signedHeaders({
      keyId: credential.keyId,
      secret: credential.secret,
      method: options.signAs?.method ?? method,
      url: new URL(options.signAs?.path ?? path, api.url),
      ...((options.signAs?.body ?? body) === undefined ? {} : { body: options.signAs?.body ?? body }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    return api.request(method, path, {
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { raw: body }),
    });
  }
  const refused = async (answer: Promise<{ status: number; json: any; text: string }>, code: string) => {
    const response = await answer;
    assert.equal(response.status, 401, response.text);
    assert.equal(response.json.error.code, code);
    return response;
  };

  it('lets a signed request act with the credential’s roles, as the credential', async function () {
    const service = await create(['user']);
    const created = await signed(service, 'POST', '/items', { body: { name: 'Nightly report', description: 'From the export job' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.ownerId, `service:${service.keyId}`);
    const listed = await signed(service, 'GET', '/items?limit=5&scope=own');
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(
      listed.json.items.map((item: { id: string }) => item.id),
      [created.json.id],
    );
  });

  it('shows the secret once and keeps it only sealed; lists credentials without secrets', async function () {
    const service = await create();
    const stored = JSON.stringify(await api.store.get(SERVICE_CREDENTIALS, service.keyId));
    assert.ok(!stored.includes(service.secret), 'no secret in the clear');
    assert.match(stored, /"sealed":"enc1\./);
    const list = await api.request('GET', '/auth/service-credentials', { token: admin });
    assert.equal(list.status, 200, list.text);
    assert.ok(!list.text.includes(service.secret) && !list.text.includes('enc1.'));
    assert.deepEqual(
      list.json.credentials.map((credential: { keyId: string; roles: string[] }) => [credential.keyId, credential.roles]),
      [[service.keyId, ['user']]],
    );
  });

  it('refuses a request whose method, path, query or body is not what was signed, or signed with another secret', async function () {
    const service = await create();
    const other = await create(['user'], 'another job');
    const body = { name: 'Lamp', description: 'Warm light' };
    await refused(signed(service, 'POST', '/items', { body, signAs: { body: JSON.stringify({ ...body, name: 'Desk' }) } }), 'signature_invalid');
    await refused(signed(service, 'GET', '/items?limit=5', { signAs: { path: '/items?limit=50' } }), 'signature_invalid');
    await refused(signed(service, 'GET', '/items', { signAs: { path: '/uploads' } }), 'signature_invalid');
    await refused(signed(service, 'DELETE', '/items/AAAAAAAAAAAAAAAAAAAA', { signAs: { method: 'GET' } }), 'signature_invalid');
    await refused(signed({ keyId: service.keyId, secret: other.secret }, 'GET', '/items'), 'signature_invalid');
    assert.deepEqual((await api.store.query('items', { limit: 5 })).documents, [], 'nothing was written');
    // The same query written another way is the same request.
    const headers = signedHeaders({ keyId: service.keyId, secret: service.secret, method: 'GET', url: new URL('/items?scope=own&limit=5', api.url) });
    assert.equal((await api.request('GET', '/items?limit=5&scope=own', { headers })).status, 200);
  });

  it('refuses a timestamp outside 5 minutes either way, and a signature used before — also two at the same moment', async function () {
    const service = await create();
    const expired = await refused(signed(service, 'GET', '/items', { now: Date.now() - 301_000 }), 'signature_expired');
    assert.match(expired.json.error.message, /300 s/);
    await refused(signed(service, 'GET', '/items', { now: Date.now() + 301_000 }), 'signature_expired');
    const headers = signedHeaders({ keyId: service.keyId, secret: service.secret, method: 'GET', url: new URL('/items', api.url) });
    assert.equal((await api.request('GET', '/items', { headers })).status, 200);
    await refused(api.request('GET', '/items', { headers }), 'signature_replayed');
    const racing = signedHeaders({ keyId: service.keyId, secret: service.secret, method: 'GET', url: new URL('/items?limit=3', api.url) });
    const answers = await Promise.all([api.request('GET', '/items?limit=3', { headers: racing }), api.request('GET', '/items?limit=3', { headers: racing })]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 401]);
  });

  it('refuses malformed headers, a signature beside a bearer token, unknown keys, and signed uploads', async function () {
    const service = await create();
    const good = signedHeaders({ keyId: service.keyId, secret: service.secret, method: 'GET', url: new URL('/items', api.url) });
    const bentHeaders: Record<string, string>[] = [{ 'x-bastion-signature': 'v2=abc' }, { 'x-bastion-key-id': '../etc' }, { 'x-bastion-timestamp': 'yesterday' }];
    for (const bent of bentHeaders) {
      await refused(api.request('GET', '/items', { headers: { ...good, ...bent } }), 'signature_invalid');
    }
    await refused(api.request('GET', '/items', { headers: good, token: await api.token({ sub: 'ada', roles: ['user'] }) }), 'signature_invalid');
    await refused(signed({ keyId: 'AAAAAAAAAAAAAAAAAAAA', secret: service.secret }, 'GET', '/items'), 'signature_invalid');
    const upload = signedHeaders({ keyId: service.keyId, secret: service.secret, method: 'POST', url: new URL('/uploads', api.url) });
    const answer = await refused(api.request('POST', '/uploads', { headers: { ...upload, 'content-type': 'multipart/form-data; boundary=x' }, raw: '--x--' }), 'signature_invalid');
    assert.match(answer.json.error.message, /uploads take a user's token/);
  });

  it('is not asked for App Check where it is enforced: App Check attests apps, a signature the server', async function () {
    await api.close();
    api = await startApi({ APP_CHECK_ITEMS: 'enforce', APP_CHECK_PROJECT_NUMBER: '123456789012' });
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
    const service = await create();
    assert.equal((await signed(service, 'GET', '/items')).status, 200);
    const app = await api.request('GET', '/items', { token: await api.token({ sub: 'ada', roles: ['user'] }) });
    assert.equal(app.json.error.code, 'app_check_missing', 'a bearer token still needs one');
  });

  it('holds a credential to its roles; MFA-guarded routes stay out of reach', async function () {
    const viewer = await create(['viewer']);
    assert.equal((await signed(viewer, 'GET', '/items')).status, 200);
    const write = await signed(viewer, 'POST', '/items', { body: { name: 'Lamp', description: 'Warm' } });
    assert.equal(write.status, 403);
    assert.equal(write.json.error.code, 'forbidden');
    const adminService = await create(['admin']);
    const audit = await signed(adminService, 'GET', '/auth/audit');
    assert.equal(audit.json.error.code, 'mfa_required', 'a service never signs in with a second factor');
  });

  it('rotates: the previous secret signs on through the overlap, then no more; revoking ends every secret at once', async function () {
    const service = await create();
    const rotated = await api.request('POST', `/auth/service-credentials/${service.keyId}/rotate`, { token: admin, body: {} });
    assert.equal(rotated.status, 200, rotated.text);
    const next = { keyId: service.keyId, secret: rotated.json.secret as string };
    assert.notEqual(next.secret, service.secret);
    const retires = Date.parse(rotated.json.credential.previousSecretRetiresAt);
    assert.ok(Math.abs(retires - (Date.now() + 86_400_000)) < 60_000, 'a day of overlap by default');
    assert.equal((await signed(service, 'GET', '/items')).status, 200, 'the previous secret, within the overlap');
    assert.equal((await signed(next, 'GET', '/items')).status, 200, 'the new secret');

    const again = await api.request('POST', `/auth/service-credentials/${service.keyId}/rotate`, { token: admin, body: { overlapSeconds: 0 } });
    const latest = { keyId: service.keyId, secret: again.json.secret as string };
    await refused(signed(service, 'GET', '/items'), 'signature_invalid');
    await refused(signed(next, 'GET', '/items?after=rotation'), 'signature_invalid');
    assert.equal((await signed(latest, 'GET', '/items')).status, 200);

    assert.equal((await api.request('DELETE', `/auth/service-credentials/${service.keyId}`, { token: admin })).status, 204);
    await refused(signed(latest, 'GET', '/items?after=revoke'), 'signature_invalid');
    assert.equal((await api.request('DELETE', `/auth/service-credentials/${service.keyId}`, { token: admin })).status, 404);
    const kinds = (await api.request('GET', '/auth/audit', { token: admin })).json.events.map((event: { kind: string }) => event.kind);
    assert.deepEqual(kinds, ['service_credential_revoked', 'service_credential_rotated', 'service_credential_rotated', 'service_credential_created']);
  });

  it('refuses, in words, a credential whose secret is sealed under a key AUTH_TOTP_KEYS no longer holds; a rotation mends it', async function () {
    const store = memoryStore();
    await api.close();
    // The same data under two configurations: the first API must not close the store it shares.
    api = await startApi({ AUTH_TOTP_KEYS: generateTotpKeys('2026-01') }, { store: withOverrides(store, { close: async () => undefined }) });
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
    const service = await create();
    await api.close();
    api = await startApi({ AUTH_TOTP_KEYS: generateTotpKeys('2026-06') }, { store });
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
    const refusal = await refused(signed(service, 'GET', '/items'), 'signature_invalid');
    assert.match(refusal.json.error.message, /no secret this server can read: rotate it/);
    const rotated = await api.request('POST', `/auth/service-credentials/${service.keyId}/rotate`, { token: admin, body: { overlapSeconds: 0 } });
    assert.equal((await signed({ keyId: service.keyId, secret: rotated.json.secret as string }, 'GET', '/items')).status, 200);
  });

  it('lets only admins with a recent MFA sign-in manage credentials, and refuses bad input', async function () {
    const user = await api.token({ sub: 'ada', roles: ['user'] });
    assert.equal((await api.request('POST', '/auth/service-credentials', { token: user, body: { name: 'x', roles: ['user'] } })).json.error.code, 'forbidden');
    const stale = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) - 16 * 60 });
    assert.equal((await api.request('POST', '/auth/service-credentials', { token: stale, body: { name: 'x', roles: ['user'] } })).json.error.code, 'mfa_required');
    for (const body of [
      { name: '', roles: ['user'] },
      { name: 'x', roles: [] },
      { name: 'x', roles: ['root'] },
      { name: 'x', roles: ['user'], secret: 'mine' },
    ]) {
      assert.equal((await api.request('POST', '/auth/service-credentials', { token: admin, body })).status, 400, JSON.stringify(body));
    }
    const service = await create();
    assert.equal((await api.request('POST', `/auth/service-credentials/${service.keyId}/rotate`, { token: admin, body: { overlapSeconds: 8 * 86_400 } })).status, 400);
    assert.equal((await api.request('POST', '/auth/service-credentials/AAAAAAAAAAAAAAAAAAAA/rotate', { token: admin, body: {} })).status, 404);
  });
});
