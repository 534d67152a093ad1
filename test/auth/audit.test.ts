/**
 * The stored audit log, over real HTTP: security events are written with who did it, to whom,
 * from which address, in which request and when, kept for the documented retention; admins with
 * an MFA sign-in read them newest first, by account and by kind, a page at a time; nobody else can.
 */
import assert from 'node:assert/strict';
import { AUDIT_RETENTION_DAYS } from '../../functions/src/auth/audit.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';
import { currentCode } from '../support/totp.ts';

const EMAIL = 'frances@example.com';
const PASSWORD = 'correct horse battery staple';

interface Event {
  id: string;
  kind: string;
  actorId: string | null;
  subjectId: string | null;
  ip: string;
  requestId: string;
  details: Record<string, unknown> | null;
  at: string;
}

describe('the stored audit log (auth/audit.ts)', function () {
  let api: TestApi;
  let uid: string;
  let admin: string;

  beforeEach(async function () {
    // Each request names its client address, as Hosting's X-Forwarded-For does.
    api = await startApi({ TRUSTED_PROXY_HOPS: '1' });
    uid = (await registerVerified(api, EMAIL, PASSWORD)).id;
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
  });

  afterEach(async function () {
    await api.close();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const read = async (query = '', token = admin) => {
    const response = await api.request('GET', `/auth/audit${query}`, { token });
    assert.equal(response.status, 200, response.text);
    return response.json as { events: Event[]; nextCursor: string | null };
  };

  it('records a sign-in, MFA turned on, a role change and a lockout: actor, subject, address, request id and time', async function () {
    const signedIn = await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD }, headers: from('198.51.100.4') });
    const token = signedIn.json.accessToken as string;
    const secret = (await api.request('POST', '/auth/mfa/enroll', { token })).json.secret as string;
    const activated = await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(secret) }, headers: from('198.51.100.4') });
    assert.equal(activated.status, 200);
    const changed = await api.request('PUT', `/auth/users/${uid}/roles`, { token: admin, body: { roles: ['viewer'] }, headers: from('203.0.113.1') });
    assert.equal(changed.status, 200, changed.text);
    for (let i = 0; i < 11; i += 1) await api.request('POST', '/auth/login', { body: { email: EMAIL, password: `wrong ${i}` }, headers: from('192.0.2.9') });

    const { events } = await read();
    assert.deepEqual(
      events.map((event) => event.kind),
      ['sign_in_locked', 'roles_changed', 'mfa_enabled', 'sign_in'],
      'newest first',
    );
    const [locked, roles, mfa, signIn] = events;
    assert.deepEqual([signIn!.actorId, signIn!.subjectId, signIn!.ip, signIn!.requestId], [uid, uid, '198.51.100.4', signedIn.headers['x-request-id']]);
    assert.deepEqual([mfa!.actorId, mfa!.subjectId], [uid, uid]);
    assert.deepEqual([roles!.actorId, roles!.subjectId, roles!.ip, roles!.details], ['root', uid, '203.0.113.1', { from: ['user'], to: ['viewer'] }]);
    assert.deepEqual([locked!.actorId, locked!.subjectId, locked!.ip], [null, uid, '192.0.2.9']);
    assert.ok(Date.parse(signIn!.at) <= Date.parse(locked!.at));

    const stored = await api.store.query<{ expiresAt: number }>('auditEvents', { limit: 10 });
    const days = (stored.documents[0]!.data.expiresAt - Date.now()) / 86_400_000;
    assert.ok(days > AUDIT_RETENTION_DAYS - 1 && days <= AUDIT_RETENTION_DAYS, `kept ${days} days`);
  });

  it('filters by account and by kind, a page at a time', async function () {
    await registerVerified(api, 'other@example.com', PASSWORD);
    for (const email of [EMAIL, 'other@example.com', EMAIL]) assert.equal((await api.request('POST', '/auth/login', { body: { email, password: PASSWORD } })).status, 200);
    const mine = await read(`?user=${uid}`);
    assert.deepEqual(
      mine.events.map((event) => [event.kind, event.subjectId]),
      [
        ['sign_in', uid],
        ['sign_in', uid],
      ],
    );
    assert.equal((await read('?kind=sign_in')).events.length, 3);
    assert.equal((await read(`?kind=mfa_enabled&user=${uid}`)).events.length, 0);
    const first = await read('?kind=sign_in&limit=2');
    assert.equal(first.events.length, 2);
    assert.ok(first.nextCursor);
    const second = await read(`?kind=sign_in&limit=2&cursor=${encodeURIComponent(first.nextCursor)}`);
    assert.equal(second.events.length, 1);
    assert.ok(!first.events.some((event) => event.id === second.events[0]!.id));
  });

  it('is for admins with an MFA sign-in only', async function () {
    const user = (await api.request('POST', '/auth/login', { body: { email: EMAIL, password: PASSWORD } })).json.accessToken as string;
    assert.equal((await api.request('GET', '/auth/audit', { token: user })).json.error.code, 'forbidden');
    const noMfa = await api.token({ sub: 'root', roles: ['admin'] });
    assert.equal((await api.request('GET', '/auth/audit', { token: noMfa })).json.error.code, 'mfa_required');
  });
});
