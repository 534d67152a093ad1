/**
 * Admins managing accounts, over real HTTP: list and search accounts a page at a time, see one
 * with its sessions, disable it (its sessions end; sign-in and refresh refuse it at once),
 * enable it, sign it out everywhere. Only admins with an MFA sign-in may, the acts within 15
 * minutes of it; never their own account away, never the last admin; every look and every act
 * an audit event.
 */
import assert from 'node:assert/strict';
import { MFA_CHALLENGES } from '../../functions/src/auth/challenges.ts';
import { ADMIN_COUNTER, COUNTERS } from '../../functions/src/auth/roles.ts';
import { listSessions } from '../../functions/src/auth/sessions.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { registerVerified } from '../support/outbox.ts';
import { currentCode } from '../support/totp.ts';

const PASSWORD = 'correct horse battery staple';

interface AdminAccount {
  id: string;
  email: string;
  roles: string[];
  disabled: boolean;
  disabledAt: string | null;
}

describe('admins managing accounts', function () {
  let api: TestApi;
  let admin: string;

  beforeEach(async function () {
    api = await startApi();
    admin = await stepUpToken('root');
  });

  afterEach(async function () {
    await api.close();
  });

  const stepUpToken = (sub: string, authTime = Math.floor(Date.now() / 1000)) => api.token({ sub, roles: ['admin'], mfa: true, authTime });
  const login = (email: string, password = PASSWORD) => api.request('POST', '/auth/login', { body: { email, password } });
  const refresh = (refreshToken: string) => api.request('POST', '/auth/refresh', { body: { refreshToken } });
  const list = async (query = '', token = admin) => {
    const response = await api.request('GET', `/auth/users${query}`, { token });
    assert.equal(response.status, 200, response.text);
    return response.json as { users: AdminAccount[]; nextCursor: string | null };
  };
  const act = (uid: string, action: 'disable' | 'enable', token = admin) => api.request('POST', `/auth/users/${uid}/${action}`, { token });
  const signOut = (uid: string, token = admin) => api.request('DELETE', `/auth/users/${uid}/sessions`, { token });
  const auditOf = async (kind: string) =>
    (await api.request('GET', `/auth/audit?kind=${kind}`, { token: admin })).json.events as { actorId: string; subjectId: string | null; details: Record<string, unknown> }[];

  /** A verified account signed in twice: two sessions. */
  async function signedInTwice(email: string) {
    const { id } = await registerVerified(api, email, PASSWORD);
    const first = await login(email);
    const second = await login(email);
    assert.equal(second.status, 200, second.text);
    return { id, accessToken: first.json.accessToken as string, refreshTokens: [first.json.refreshToken as string, second.json.refreshToken as string] };
  }

  describe('listing and searching', function () {
    it('lists accounts newest first, a page at a time, with what admins need to see and no secret', async function () {
      for (const name of ['ada', 'grace', 'edsger']) await registerVerified(api, `${name}@example.com`, PASSWORD);
      const first = await list('?limit=2');
      assert.deepEqual(
        first.users.map((user) => user.email),
        ['edsger@example.com', 'grace@example.com'],
      );
      assert.ok(first.nextCursor);
      const rest = await list(`?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`);
      assert.deepEqual(
        rest.users.map((user) => user.email),
        ['ada@example.com'],
      );
      assert.equal(rest.nextCursor, null);
      assert.deepEqual(Object.keys(first.users[0]!).sort(), ['createdAt', 'disabled', 'disabledAt', 'email', 'emailVerified', 'id', 'mfaEnabled', 'roles', 'updatedAt']);
    });

    it('finds the one account with an address, compared as sign-in compares it; an unknown address finds none', async function () {
      const { id } = await registerVerified(api, 'ada@example.com', PASSWORD);
      await registerVerified(api, 'grace@example.com', PASSWORD);
      assert.deepEqual(
        (await list('?email=%20Ada@Example.COM')).users.map((user) => user.id),
        [id],
      );
      assert.deepEqual((await list('?email=nobody@example.com')).users, []);
      const [looked] = await auditOf('accounts_viewed');
      assert.deepEqual([looked!.actorId, looked!.subjectId, looked!.details], ['root', null, { search: 'email', status: null, shown: 0 }]);
    });

    it('lists only the disabled accounts when asked', async function () {
      const ada = await registerVerified(api, 'ada@example.com', PASSWORD);
      await registerVerified(api, 'grace@example.com', PASSWORD);
      assert.equal((await act(ada.id, 'disable')).status, 200);
      assert.deepEqual(
        (await list('?status=disabled')).users.map((user) => [user.email, user.disabled]),
        [['ada@example.com', true]],
      );
      assert.deepEqual((await list('?status=disabled&email=grace@example.com')).users, []);
    });

    it('shows one account with its live sessions', async function () {
      const ada = await signedInTwice('ada@example.com');
      const response = await api.request('GET', `/auth/users/${ada.id}`, { token: admin });
      assert.equal(response.status, 200, response.text);
      assert.equal(response.json.user.email, 'ada@example.com');
      assert.equal(response.json.sessions.length, 2);
      assert.deepEqual(Object.keys(response.json.sessions[0]).sort(), ['createdAt', 'device', 'id', 'ip', 'lastUsedAt', 'mfa']);
      const [looked] = await auditOf('accounts_viewed');
      assert.deepEqual([looked!.subjectId, looked!.details], [ada.id, { search: 'id' }]);
    });

    it('refuses bad queries with the field named, and answers 404 for an unknown account', async function () {
      for (const query of ['?email=not-an-address', '?status=enabled', '?limit=0', '?limit=101', '?role=admin']) {
        const response = await api.request('GET', `/auth/users${query}`, { token: admin });
        assert.equal(response.status, 400, `${query}: ${response.text}`);
        assert.equal(response.json.error.code, 'validation_failed');
      }
      assert.equal((await api.request('GET', '/auth/users/AAAAAAAAAAAAAAAAAAAA', { token: admin })).status, 404);
      assert.equal((await api.request('GET', '/auth/users/not-an-id', { token: admin })).status, 400);
      for (const response of [await act('AAAAAAAAAAAAAAAAAAAA', 'disable'), await act('AAAAAAAAAAAAAAAAAAAA', 'enable'), await signOut('AAAAAAAAAAAAAAAAAAAA')]) {
        assert.equal(response.status, 404, response.text);
      }
    });
  });

  describe('who may', function () {
    it('refuses users (forbidden), admins without MFA (mfa_required), and acts by admins whose MFA sign-in is older than 15 minutes', async function () {
      const ada = await registerVerified(api, 'ada@example.com', PASSWORD);
      const user = await api.token({ sub: 'someone', roles: ['user'] });
      const noMfa = await api.token({ sub: 'root', roles: ['admin'] });
      const stale = await stepUpToken('root', Math.floor(Date.now() / 1000) - 16 * 60);
      for (const [token, code] of [
        [user, 'forbidden'],
        [noMfa, 'mfa_required'],
      ] as const) {
        assert.equal((await api.request('GET', '/auth/users', { token })).json.error.code, code);
        assert.equal((await api.request('GET', `/auth/users/${ada.id}`, { token })).json.error.code, code);
        assert.equal((await act(ada.id, 'disable', token)).json.error.code, code);
        assert.equal((await act(ada.id, 'enable', token)).json.error.code, code);
        assert.equal((await signOut(ada.id, token)).json.error.code, code);
      }
      // Looking needs an MFA sign-in; changing what an account can do needs a recent one.
      assert.equal((await api.request('GET', '/auth/users', { token: stale })).status, 200);
      for (const response of [await act(ada.id, 'disable', stale), await act(ada.id, 'enable', stale), await signOut(ada.id, stale)]) {
        assert.equal(response.status, 403);
        assert.equal(response.json.error.code, 'mfa_required');
      }
      assert.equal(await login('ada@example.com').then((response) => response.status), 200, 'nothing was changed');
    });

    it('refuses an admin disabling their own account, and the last admin who can act', async function () {
      const ada = await registerVerified(api, 'ada@example.com', PASSWORD);
      assert.equal((await api.request('PUT', `/auth/users/${ada.id}/roles`, { token: admin, body: { roles: ['user', 'admin'] } })).status, 200);
      const own = await act(ada.id, 'disable', await stepUpToken(ada.id));
      assert.equal(own.status, 409);
      assert.equal(own.json.error.code, 'own_account');
      const last = await act(ada.id, 'disable');
      assert.equal(last.status, 409, last.text);
      assert.equal(last.json.error.code, 'last_admin');
      assert.equal((await login('ada@example.com')).status, 200, 'still enabled');
    });

    /** Ada and Grace, admins both. */
    async function twoAdmins(): Promise<string[]> {
      const ids = [];
      for (const name of ['ada', 'grace']) {
        const { id } = await registerVerified(api, `${name}@example.com`, PASSWORD);
        assert.equal((await api.request('PUT', `/auth/users/${id}/roles`, { token: admin, body: { roles: ['admin'] } })).status, 200);
        ids.push(id);
      }
      return ids;
    }

    it('counts only admins who can act: a disabled admin is not one, and comes back as one when enabled', async function () {
      const ids = await twoAdmins();
      const admins = async () => (await api.store.get<{ count: number }>(COUNTERS, ADMIN_COUNTER))?.count;
      assert.equal(await admins(), 2);
      assert.equal((await act(ids[0]!, 'disable')).status, 200);
      assert.equal(await admins(), 1);
      // Grace is now the last admin who can act: Ada (disabled) cannot be made the reason she may go.
      assert.equal((await act(ids[1]!, 'disable')).json.error.code, 'last_admin');
      assert.equal((await api.request('PUT', `/auth/users/${ids[1]}/roles`, { token: admin, body: { roles: ['user'] } })).json.error.code, 'last_admin');
      assert.equal((await act(ids[0]!, 'enable')).status, 200);
      assert.equal(await admins(), 2);
      assert.equal((await api.request('PUT', `/auth/users/${ids[1]}/roles`, { token: admin, body: { roles: ['user'] } })).status, 200);
    });

    it('keeps one admin when two disable each other at the same moment', async function () {
      const [ada, grace] = await twoAdmins();
      const answers = await Promise.all([act(grace!, 'disable', await stepUpToken(ada!)), act(ada!, 'disable', await stepUpToken(grace!))]);
      // The one who is second is refused: disabled already, or the last admin who can act.
      const refused = answers.filter((answer) => answer.status !== 200);
      assert.equal(refused.length, 1, answers.map((answer) => answer.text).join('\n'));
      assert.ok(['account_disabled', 'last_admin'].includes(refused[0]!.json.error.code), refused[0]!.text);
      assert.equal((await api.store.get<{ count: number }>(COUNTERS, ADMIN_COUNTER))?.count, 1);
      const accounts = (await list()).users.filter((user) => user.roles.includes('admin'));
      assert.deepEqual(accounts.map((user) => user.disabled).sort(), [false, true]);
    });

    it("refuses a disabled admin's live access token everywhere admins look or act: it cannot undo its own disabling", async function () {
      const [ada, grace] = await twoAdmins();
      const adasToken = await stepUpToken(ada!);
      assert.equal((await act(ada!, 'disable')).status, 200);
      for (const response of [
        await act(ada!, 'enable', adasToken),
        await act(grace!, 'disable', adasToken),
        await signOut(grace!, adasToken),
        await api.request('GET', '/auth/users', { token: adasToken }),
        await api.request('GET', `/auth/users/${grace}`, { token: adasToken }),
        await api.request('GET', '/auth/audit', { token: adasToken }),
        await api.request('PUT', `/auth/users/${grace}/roles`, { token: adasToken, body: { roles: ['user'] } }),
      ]) {
        assert.equal(response.status, 403, response.text);
        assert.equal(response.json.error.code, 'account_disabled');
      }
      assert.deepEqual(
        (await list()).users.map((user) => [user.email, user.disabled, user.roles]),
        [
          ['grace@example.com', false, ['admin']],
          ['ada@example.com', true, ['admin']],
        ],
      );
    });
  });

  describe('disabling', function () {
    it('ends every session at once and refuses refresh, sign-in (only to whoever knows the password) and the account routes', async function () {
      const ada = await signedInTwice('ada@example.com');
      const disabled = await act(ada.id, 'disable');
      assert.equal(disabled.status, 200, disabled.text);
      assert.equal(disabled.json.sessionsEnded, 2);
      assert.equal(disabled.json.user.disabled, true);
      assert.ok(Date.parse(disabled.json.user.disabledAt) <= Date.now());

      for (const refreshToken of ada.refreshTokens) assert.equal((await refresh(refreshToken)).status, 401);
      const right = await login('ada@example.com');
      assert.equal(right.status, 403, right.text);
      assert.equal(right.json.error.code, 'account_disabled');
      const wrong = await login('ada@example.com', 'not the password at all');
      assert.equal(wrong.status, 401, 'a wrong password says nothing of the account');
      assert.equal(wrong.json.error.code, 'invalid_credentials');
      const me = await api.request('GET', '/auth/me', { token: ada.accessToken });
      assert.equal(me.json.error.code, 'account_disabled', 'routes that read the account refuse its live access token');
      assert.deepEqual(await listSessions(api.store, ada.id), []);

      const [event] = await auditOf('account_disabled');
      assert.deepEqual([event!.actorId, event!.subjectId, event!.details], ['root', ada.id, { changed: true, sessionsEnded: 2 }]);
      const [refused] = await auditOf('sign_in_refused');
      assert.deepEqual([refused!.subjectId, refused!.details], [ada.id, { reason: 'disabled' }]);
      assert.ok(api.logs.some((line) => line.event === 'audit.account_disabled' && line.subject === ada.id));
    });

    it('keeps the account and its data, and lets it sign in again once enabled (its old sessions stay ended)', async function () {
      const ada = await signedInTwice('ada@example.com');
      const item = await api.request('POST', '/items', { token: ada.accessToken, body: { name: 'Desk lamp', description: 'Warm light' } });
      assert.equal(item.status, 201, item.text);
      await act(ada.id, 'disable');
      const again = await act(ada.id, 'disable');
      assert.equal(again.status, 200, 'disabling twice is no error');
      assert.equal(again.json.sessionsEnded, 0);

      const enabled = await act(ada.id, 'enable');
      assert.equal(enabled.status, 200, enabled.text);
      assert.deepEqual([enabled.json.user.disabled, enabled.json.user.disabledAt], [false, null]);
      const back = await login('ada@example.com');
      assert.equal(back.status, 200, back.text);
      assert.equal((await api.request('GET', `/items/${item.json.id}`, { token: back.json.accessToken })).status, 200, 'its data stayed');
      for (const refreshToken of ada.refreshTokens) assert.equal((await refresh(refreshToken)).status, 401);
      assert.deepEqual(
        (await auditOf('account_enabled')).map((event) => [event.subjectId, event.details]),
        [[ada.id, { changed: true }]],
      );
    });

    it('refuses an MFA account after its password, before any challenge', async function () {
      const { id } = await registerVerified(api, 'ada@example.com', PASSWORD);
      const token = (await login('ada@example.com')).json.accessToken as string;
      const secret = (await api.request('POST', '/auth/mfa/enroll', { token })).json.secret as string;
      assert.equal((await api.request('POST', '/auth/mfa/activate', { token, body: { code: currentCode(secret) } })).status, 200);
      await act(id, 'disable');
      const answer = await login('ada@example.com');
      assert.equal(answer.json.error?.code, 'account_disabled', answer.text);
      assert.deepEqual((await api.store.query(MFA_CHALLENGES, { limit: 5 })).documents, []);
    });

    it('leaves no session behind when sign-ins race the disabling: each is refused, or its session ended', async function () {
      const { id } = await registerVerified(api, 'ada@example.com', PASSWORD);
      const [disabled, ...logins] = await Promise.all([act(id, 'disable'), ...Array.from({ length: 6 }, () => login('ada@example.com'))]);
      assert.equal(disabled.status, 200, disabled.text);
      for (const answer of logins) {
        assert.ok(answer.status === 200 || answer.json.error?.code === 'account_disabled', answer.text);
        if (answer.status === 200) assert.equal((await refresh(answer.json.refreshToken)).status, 401, 'a session that got in before was ended');
      }
      assert.deepEqual(await listSessions(api.store, id), []);
    });
  });

  it('signs an account out everywhere: its refresh tokens stop, and it may sign in again', async function () {
    const ada = await signedInTwice('ada@example.com');
    const response = await signOut(ada.id);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json, { ended: 2 });
    for (const refreshToken of ada.refreshTokens) assert.equal((await refresh(refreshToken)).status, 401);
    assert.equal((await login('ada@example.com')).status, 200);
    const [event] = await auditOf('account_signed_out');
    assert.deepEqual([event!.actorId, event!.subjectId, event!.details], ['root', ada.id, { ended: 2 }]);
  });
});
