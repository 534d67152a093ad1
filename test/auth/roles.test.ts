/**
 * PUT /auth/users/:uid/roles: admins only, within 15 minutes of a multi-factor sign-in; never
 * the last admin away; every change an audit event; effective on the account's next refresh.
 */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';

const PASSWORD = 'correct horse battery staple';

describe('role changes', function () {
  let api: TestApi;
  let admin: string;

  beforeEach(async function () {
    api = await startApi();
    admin = await api.token({ sub: 'root', roles: ['admin'], mfa: true });
  });

  afterEach(async function () {
    await api.close();
  });

  async function account(email: string): Promise<{ id: string; refreshToken: string }> {
    const registered = await registerVerified(api, email, PASSWORD);
    const login = await api.request('POST', '/auth/login', { body: { email, password: PASSWORD } });
    return { id: registered.id, refreshToken: login.json.refreshToken };
  }

  const setRoles = (uid: string, roles: unknown, token = admin) => api.request('PUT', `/auth/users/${uid}/roles`, { token, body: { roles } });

  it('lets an admin with a recent MFA sign-in set roles, taking effect on the next refresh', async function () {
    const bob = await account('bob@example.com');
    const response = await setRoles(bob.id, ['viewer']);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json.user.roles, ['viewer']);
    const refreshed = await api.request('POST', '/auth/refresh', { body: { refreshToken: bob.refreshToken } });
    assert.deepEqual(decodeJwt(refreshed.json.accessToken).roles, ['viewer']);
    const created = await api.request('POST', '/items', { token: refreshed.json.accessToken, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(created.status, 403, 'a viewer cannot create');
  });

  it('logs every change as an audit event: who, whom, from, to and the request id', async function () {
    const bob = await account('bob@example.com');
    const response = await setRoles(bob.id, ['user', 'admin']);
    const event = api.logs.find((line) => line.event === 'audit.roles_changed');
    assert.ok(event);
    assert.equal(event.actor, 'root');
    assert.equal(event.subject, bob.id);
    assert.deepEqual(event.from, ['user']);
    assert.deepEqual(event.to, ['user', 'admin']);
    assert.equal(event.requestId, response.headers['x-request-id']);
  });

  it('refuses users and viewers (403), and admins without MFA or with a stale one (mfa_required)', async function () {
    const bob = await account('bob@example.com');
    const user = await api.token({ sub: 'someone', roles: ['user'] });
    assert.equal((await setRoles(bob.id, ['admin'], user)).json.error.code, 'forbidden');
    const noMfa = await setRoles(bob.id, ['admin'], await api.token({ sub: 'root', roles: ['admin'] }));
    assert.equal(noMfa.status, 403);
    assert.equal(noMfa.json.error.code, 'mfa_required');
    const stale = await api.token({ sub: 'root', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) - 16 * 60 });
    assert.equal((await setRoles(bob.id, ['admin'], stale)).json.error.code, 'mfa_required');
    assert.deepEqual((await api.store.get('users', bob.id))!.roles, ['user']);
  });

  it('never removes the last admin', async function () {
    const alice = await account('alice@example.com');
    assert.equal((await setRoles(alice.id, ['user', 'admin'])).status, 200);
    const demote = await setRoles(alice.id, ['user']);
    assert.equal(demote.status, 409);
    assert.equal(demote.json.error.code, 'last_admin');
    assert.deepEqual((await api.store.get('users', alice.id))!.roles, ['user', 'admin']);
    // With a second admin, the first may step down.
    const bob = await account('bob@example.com');
    assert.equal((await setRoles(bob.id, ['admin'])).status, 200);
    assert.equal((await setRoles(alice.id, ['user'])).status, 200);
  });

  it('keeps one admin when two demote each other at the same moment', async function () {
    const alice = await account('alice@example.com');
    const bob = await account('bob@example.com');
    await setRoles(alice.id, ['admin']);
    await setRoles(bob.id, ['admin']);
    const results = await Promise.all([setRoles(alice.id, ['user']), setRoles(bob.id, ['user'])]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
  });

  it('answers 404 for an unknown account and 400 for unknown roles or ids', async function () {
    assert.equal((await setRoles('AAAAAAAAAAAAAAAAAAAA', ['user'])).status, 404);
    const bob = await account('bob@example.com');
    for (const roles of [['superuser'], [], 'admin', null]) {
      assert.equal((await setRoles(bob.id, roles)).status, 400, JSON.stringify(roles));
    }
    assert.equal((await setRoles('not-an-id', ['user'])).status, 400);
  });
});
