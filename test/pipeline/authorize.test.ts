/**
 * Role-based access from the token's roles, and MFA step-up, for every items route:
 * `viewer` reads, `user` creates and changes its own items, `admin` everything, and changing
 * other people's items as admin needs a multi-factor sign-in. A refusal writes nothing.
 */
import assert from 'node:assert/strict';
import type { Role } from '../../functions/src/config/index.ts';
import { newDocumentId } from '../../functions/src/store/ids.ts';
import { injectApi, type InjectedApi } from '../support/inject.ts';

interface Caller {
  name: string;
  roles: string[];
  mfa?: boolean;
}

const callers: Record<string, Caller> = {
  viewer: { name: 'viewer', roles: ['viewer'] },
  user: { name: 'user', roles: ['user'] },
  admin: { name: 'admin without MFA', roles: ['admin'] },
  adminMfa: { name: 'admin with MFA', roles: ['admin'], mfa: true },
  userAdmin: { name: 'user+admin without MFA', roles: ['user', 'admin'] },
  none: { name: 'no roles', roles: [] },
  unknown: { name: 'only an unknown role', roles: ['superuser'] },
};

type Operation = 'list' | 'listAll' | 'create' | 'get' | 'update' | 'delete';
/** Expected status, or status and error code. */
type Outcome = number | [number, string];

const FORBIDDEN: Outcome = [403, 'forbidden'];
const STEP_UP: Outcome = [403, 'mfa_required'];
const HIDDEN: Outcome = [404, 'not_found'];

/** On the caller's own item. */
const onOwn: Record<keyof typeof callers, Record<Exclude<Operation, 'listAll'>, Outcome>> = {
  viewer: { list: 200, create: FORBIDDEN, get: 200, update: FORBIDDEN, delete: FORBIDDEN },
  user: { list: 200, create: 201, get: 200, update: 200, delete: 204 },
  admin: { list: 200, create: 201, get: 200, update: STEP_UP, delete: STEP_UP },
  adminMfa: { list: 200, create: 201, get: 200, update: 200, delete: 204 },
  userAdmin: { list: 200, create: 201, get: 200, update: 200, delete: 204 },
  none: { list: FORBIDDEN, create: FORBIDDEN, get: FORBIDDEN, update: FORBIDDEN, delete: FORBIDDEN },
  unknown: { list: FORBIDDEN, create: FORBIDDEN, get: FORBIDDEN, update: FORBIDDEN, delete: FORBIDDEN },
};

/** On an item someone else owns, and listing everyone's. */
const onOthers: Record<keyof typeof callers, Record<'listAll' | 'get' | 'update' | 'delete', Outcome>> = {
  viewer: { listAll: FORBIDDEN, get: HIDDEN, update: FORBIDDEN, delete: FORBIDDEN },
  user: { listAll: FORBIDDEN, get: HIDDEN, update: HIDDEN, delete: HIDDEN },
  admin: { listAll: 200, get: 200, update: STEP_UP, delete: STEP_UP },
  adminMfa: { listAll: 200, get: 200, update: 200, delete: 204 },
  // Without MFA the admin role is not usable here: this caller acts as a plain user.
  userAdmin: { listAll: 200, get: 200, update: HIDDEN, delete: HIDDEN },
  none: { listAll: FORBIDDEN, get: FORBIDDEN, update: FORBIDDEN, delete: FORBIDDEN },
  unknown: { listAll: FORBIDDEN, get: FORBIDDEN, update: FORBIDDEN, delete: FORBIDDEN },
};

const ORIGINAL = { name: 'Desk lamp', description: 'Warm light', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };

describe('authorization (RBAC and MFA step-up)', function () {
  let api: InjectedApi;

  before(async function () {
    api = await injectApi();
  });

  after(async function () {
    await api.close();
  });

  async function seed(ownerId: string): Promise<string> {
    const id = newDocumentId();
    await api.store.create('items', id, { ownerId, ...ORIGINAL });
    return id;
  }

  async function perform(caller: Caller, subject: string, operation: Operation, id: string) {
    const token = await api.token({ sub: subject, roles: caller.roles as Role[], mfa: caller.mfa ?? false });
    switch (operation) {
      case 'list':
        return api.request('GET', '/items', { token });
      case 'listAll':
        return api.request('GET', '/items?scope=all', { token });
      case 'create':
        return api.request('POST', '/items', { token, body: { name: 'New lamp', description: 'Brand new' } });
      case 'get':
        return api.request('GET', `/items/${id}`, { token });
      case 'update':
        return api.request('PATCH', `/items/${id}`, { token, body: { name: 'Renamed lamp' } });
      case 'delete':
        return api.request('DELETE', `/items/${id}`, { token });
    }
  }

  /** Pages through every owner's items (many share a createdAt, so one page is not enough). */
  async function listedByAll(caller: Caller, id: string): Promise<boolean> {
    const token = await api.token({ sub: 'lister', roles: caller.roles as Role[], mfa: caller.mfa ?? false });
    let cursor = '';
    do {
      const page = await api.request('GET', `/items?scope=all&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { token });
      assert.equal(page.status, 200);
      if (page.json.items.some((item: { id: string }) => item.id === id)) return true;
      cursor = page.json.nextCursor ?? '';
    } while (cursor);
    return false;
  }

  function check(outcome: Outcome, response: { status: number; json: any; text: string }): void {
    const [status, code] = Array.isArray(outcome) ? outcome : [outcome, undefined];
    assert.equal(response.status, status, response.text);
    if (code) assert.equal(response.json.error.code, code);
  }

  async function assertUnchanged(id: string, ownerId: string): Promise<void> {
    assert.deepEqual(await api.store.get('items', id), { ownerId, ...ORIGINAL });
  }

  for (const [key, caller] of Object.entries(callers)) {
    describe(`a caller with ${caller.name}`, function () {
      for (const [operation, outcome] of Object.entries(onOwn[key]!)) {
        it(`${operation} on its own item → ${JSON.stringify(outcome)}`, async function () {
          const subject = `${key}-${operation}`;
          const id = await seed(subject);
          const before = (await api.store.query('items', { where: { ownerId: subject }, limit: 10 })).documents.length;
          const response = await perform(caller, subject, operation as Operation, id);
          check(outcome, response);
          if (response.status >= 400) {
            await assertUnchanged(id, subject);
            const after = (await api.store.query('items', { where: { ownerId: subject }, limit: 10 })).documents.length;
            assert.equal(after, before, 'a refused request creates nothing');
          }
        });
      }

      for (const [operation, outcome] of Object.entries(onOthers[key]!)) {
        it(`${operation} on someone else's item → ${JSON.stringify(outcome)}`, async function () {
          const id = await seed('zoe');
          const response = await perform(caller, `${key}-other`, operation as Operation, id);
          check(outcome, response);
          if (response.status >= 400) await assertUnchanged(id, 'zoe');
          if (operation === 'listAll' && response.status === 200) {
            assert.ok(await listedByAll(caller, id), "the other owner's item is listed");
          }
        });
      }
    });
  }

  it('answers a step-up refusal in words the client can act on', async function () {
    const token = await api.token({ sub: 'root', roles: ['admin'] });
    const response = await api.request('DELETE', `/items/${await seed('zoe')}`, { token });
    assert.equal(response.status, 403);
    assert.equal(response.json.error.code, 'mfa_required');
    assert.match(response.json.error.message, /multi-factor/);
  });
});
