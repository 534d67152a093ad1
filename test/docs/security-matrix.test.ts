/**
 * docs/security-matrix.md is true: for every route and every role, a token with that one role
 * gets over HTTP what the matrix says — allowed, allowed only with an MFA sign-in, or refused.
 */
import assert from 'node:assert/strict';
import { ROLES } from '../../functions/src/config/index.ts';
import { verdictFor } from '../../functions/src/docs/security-matrix.ts';
import { routes } from '../../functions/src/routes.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { operations, requestFor, validInput } from './support.ts';

const refusedFor = (status: number, code: string | undefined) => status === 403 && (code === 'forbidden' || code === 'mfa_required');

describe('security matrix', function () {
  let api: TestApi;

  before(async function () {
    api = await startApi();
  });

  after(async function () {
    await api?.close();
  });

  it('holds for every route and role, over HTTP', async function () {
    const now = Math.floor(Date.now() / 1000);
    for (const { method, path, op } of operations()) {
      const route = routes.find((r) => r.id === op.operationId)!;
      for (const role of ROLES) {
        const verdict = verdictFor(route, role);
        const input = validInput(op);
        const plain = await requestFor(api, method, path, op, { ...input, token: await api.token({ sub: `m-${role}`, roles: [role] }) });
        const stepped = await requestFor(api, method, path, op, { ...input, token: await api.token({ sub: `m-${role}`, roles: [role], mfa: true, authTime: now }) });
        const what = `${route.id} as ${role} (${verdict})`;
        if (verdict === 'public') {
          // The route may refuse what is sent (a wrong password, no session): the pipeline does not ask for a token.
          assert.ok(!['missing_token', 'invalid_token', 'token_expired'].includes(plain.json?.error?.code), `${what}: ${plain.text}`);
          assert.ok(!refusedFor(plain.status, plain.json?.error?.code), what);
        } else if (verdict === 'refused') {
          assert.equal(plain.json?.error?.code, 'forbidden', what);
          assert.equal(stepped.json?.error?.code, 'forbidden', `${what}, even with MFA`);
        } else if (verdict === 'MFA step-up') {
          assert.equal(plain.json?.error?.code, 'mfa_required', what);
          assert.ok(!refusedFor(stepped.status, stepped.json?.error?.code), `${what} with MFA: ${stepped.text}`);
        } else {
          assert.ok(!refusedFor(plain.status, plain.json?.error?.code), `${what}: ${plain.text}`);
        }
      }
    }
  });
});
