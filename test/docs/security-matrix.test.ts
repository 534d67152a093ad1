/**
 * The security policy of every route, written here by hand and checked against what the code
 * does: the routes declared, docs/security-matrix.md, and over HTTP what a token with one role
 * gets (allowed, allowed only with an MFA sign-in, refused), which routes CSRF-check the session
 * cookie, and which bucket limits them. The table is not read from the routes: a changed policy
 * fails here until the table is changed too, on purpose.
 */
import assert from 'node:assert/strict';
import { ROLES, type Role } from '../../functions/src/config/index.ts';
import { generatedDocs } from '../../functions/src/docs/generated.ts';
import { routes } from '../../functions/src/routes.ts';
import { startApi, ALLOWED_ORIGIN, type TestApi } from '../support/api.ts';
import { operations, requestFor, validInput, type Json } from './support.ts';
import { startAppCheckIssuer } from '../support/app-check.ts';

type Verdict = 'public' | 'allowed' | 'MFA step-up' | 'refused';

interface Policy {
  viewer: Verdict;
  user: Verdict;
  admin: Verdict;
  /** Whether an account with an unverified address may call it ('—': public, no account asked). */
  unverified: 'yes' | 'no' | '—';
  /** Takes the session cookie; on a state-changing method it then needs the CSRF token. */
  cookie: boolean;
  /** What the request body is. */
  body: 'none' | 'json' | 'multipart';
  /** The matrix's rate-limit column, at the default limits. */
  limits: string;
  /** The matrix's App Check column, when not the function's mode (see APP_CHECK_OFF, TAKES_EACH_ONCE). */
  appCheck?: string;
}

const FUNCTION_MODE = "function's mode";
const TAKES_EACH_ONCE = `${FUNCTION_MODE}, each token once`;
const APP_CHECK_OFF = 'off (route)';

const P: Verdict = 'public';
const A: Verdict = 'allowed';
const M: Verdict = 'MFA step-up';
const R: Verdict = 'refused';

const GLOBAL = 'global 100/min per ip';
const API_USER = `${GLOBAL}; api 10/min per user`;
const CREATE_USER = `${API_USER}; create 5/min per user and route`;
const API_IP = `${GLOBAL}; api 10/min per ip`;

/** Written by hand: the policy this API promises, in the matrix's order. */
const EXPECTED: Record<string, Policy> = {
  'GET /items': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'POST /items': { viewer: R, user: A, admin: A, unverified: 'no', cookie: false, body: 'json', limits: CREATE_USER },
  'GET /items/:id': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'PATCH /items/:id': { viewer: R, user: A, admin: M, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'DELETE /items/:id': { viewer: R, user: A, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'GET /uploads': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'POST /uploads': { viewer: R, user: A, admin: A, unverified: 'no', cookie: false, body: 'multipart', limits: CREATE_USER },
  'GET /uploads/:id': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'GET /uploads/:id/content': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'DELETE /uploads/:id': { viewer: R, user: A, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'GET /auth/openapi.json': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'none', limits: API_IP, appCheck: APP_CHECK_OFF },
  'GET /auth/.well-known/jwks.json': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'none', limits: GLOBAL, appCheck: APP_CHECK_OFF },
  'GET /auth/web-config': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'none', limits: GLOBAL, appCheck: APP_CHECK_OFF },
  'POST /auth/register': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: `${GLOBAL}; create 5/min per ip and route`, appCheck: TAKES_EACH_ONCE },
  'POST /auth/verify-email': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP },
  'POST /auth/verify-email/resend': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/password/forgot': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP, appCheck: TAKES_EACH_ONCE },
  'POST /auth/password/reset': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP },
  'POST /auth/password/change': { viewer: A, user: A, admin: A, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'POST /auth/email/change': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'json', limits: API_USER },
  'POST /auth/email/confirm': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP },
  'POST /auth/login': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP, appCheck: TAKES_EACH_ONCE },
  'POST /auth/refresh': { viewer: P, user: P, admin: P, unverified: '—', cookie: true, body: 'json', limits: API_IP },
  'POST /auth/logout': { viewer: P, user: P, admin: P, unverified: '—', cookie: true, body: 'json', limits: API_IP },
  'GET /auth/session': { viewer: P, user: P, admin: P, unverified: '—', cookie: true, body: 'none', limits: API_IP },
  'GET /auth/me': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'GET /auth/sessions': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'DELETE /auth/sessions/:id': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'DELETE /auth/sessions': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'GET /auth/account/export': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/account/delete': { viewer: A, user: A, admin: A, unverified: 'yes', cookie: false, body: 'json', limits: API_USER },
  'PUT /auth/users/:uid/roles': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'GET /auth/users': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'GET /auth/users/:uid': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/users/:uid/disable': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/users/:uid/enable': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'DELETE /auth/users/:uid/sessions': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/service-credentials': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'GET /auth/service-credentials': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/service-credentials/:keyId/rotate': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'DELETE /auth/service-credentials/:keyId': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'GET /auth/audit': { viewer: R, user: R, admin: M, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/mfa/enroll': { viewer: A, user: A, admin: A, unverified: 'no', cookie: false, body: 'none', limits: API_USER },
  'POST /auth/mfa/activate': { viewer: A, user: A, admin: A, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
  'POST /auth/mfa/verify': { viewer: P, user: P, admin: P, unverified: '—', cookie: false, body: 'json', limits: API_IP },
  'POST /auth/mfa/disable': { viewer: A, user: A, admin: A, unverified: 'no', cookie: false, body: 'json', limits: API_USER },
};

const key = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
const expectedFor = (method: string, path: string): Policy => {
  const policy = EXPECTED[key(method, path)];
  assert.ok(policy, `${key(method, path)} is not in the expected table`);
  return policy;
};
const refusedFor = (status: number, code: string | undefined) => status === 403 && (code === 'forbidden' || code === 'mfa_required');
const TOKEN_CODES = ['missing_token', 'invalid_token', 'token_expired'];
/** A well-formed session cookie value (`<session id>.<refresh token>`) of no real session. */
const FORGED_SESSION = `${'s'.repeat(20)}.${'r'.repeat(43)}`;

describe('security matrix', function () {
  let api: TestApi;

  before(async function () {
    api = await startApi();
  });

  after(async function () {
    await api?.close();
  });

  it('covers exactly the routes declared, in the documents’ order', function () {
    assert.deepEqual(
      routes.map((route) => `${route.method} ${route.path}`),
      Object.keys(EXPECTED),
    );
  });

  it('is what docs/security-matrix.md says, row by row', function () {
    const rows = generatedDocs()['security-matrix.md']
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
    assert.deepEqual(
      rows,
      Object.entries(EXPECTED).map(([route, policy]) => [`\`${route}\``, policy.viewer, policy.user, policy.admin, policy.unverified, policy.appCheck ?? FUNCTION_MODE, policy.limits]),
    );
    assert.deepEqual(ROLES, ['viewer', 'user', 'admin'], 'the matrix has a column per role, in this order');
  });

  it('documents the body each route takes', function () {
    for (const { method, path, op } of operations()) {
      const content = (op.requestBody as Json | undefined)?.content ?? {};
      const body = content['multipart/form-data'] ? 'multipart' : content['application/json'] ? 'json' : 'none';
      assert.equal(body, expectedFor(method, path).body, key(method, path));
    }
  });

  it('holds for App Check over HTTP, every function enforcing it: a route of its own mode is left alone, one that takes each token once refuses it used again', async function () {
    const issuer = await startAppCheckIssuer();
    const enforced = await startApi({ APP_CHECK_AUTH: 'enforce', APP_CHECK_ITEMS: 'enforce', APP_CHECK_UPLOADS: 'enforce', ...issuer.env });
    try {
      const token = await enforced.token({ sub: 'm-admin', roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
      for (const { method, path, op } of operations()) {
        const column = expectedFor(method, path).appCheck ?? FUNCTION_MODE;
        const what = `${key(method, path)} (${column})`;
        const bare = await requestFor(enforced, method, path, op, { ...validInput(op), token });
        if (column === APP_CHECK_OFF) assert.ok(!String(bare.json?.error?.code).startsWith('app_check'), `${what}: ${bare.text}`);
        else assert.equal(bare.json?.error?.code, 'app_check_missing', what);
        const appCheck = { 'x-firebase-appcheck': await issuer.token() };
        const first = await requestFor(enforced, method, path, op, { ...validInput(op), token, headers: appCheck });
        assert.ok(!String(first.json?.error?.code).startsWith('app_check'), `${what}: ${first.text}`);
        const again = await requestFor(enforced, method, path, op, { ...validInput(op), token, headers: appCheck });
        if (column === TAKES_EACH_ONCE) assert.equal(again.json?.error?.code, 'app_check_replayed', what);
        else assert.ok(!String(again.json?.error?.code).startsWith('app_check'), `${what}: ${again.text}`);
      }
    } finally {
      await enforced.close();
      await issuer.close();
    }
  });

  it('holds for every route and role, over HTTP', async function () {
    const now = Math.floor(Date.now() / 1000);
    for (const { method, path, op } of operations()) {
      const policy = expectedFor(method, path);
      for (const role of ROLES as readonly Role[]) {
        const verdict = policy[role];
        const input = validInput(op);
        const plain = await requestFor(api, method, path, op, { ...input, token: await api.token({ sub: `m-${role}`, roles: [role] }) });
        const stepped = await requestFor(api, method, path, op, { ...input, token: await api.token({ sub: `m-${role}`, roles: [role], mfa: true, authTime: now }) });
        const what = `${key(method, path)} as ${role} (${verdict})`;
        if (verdict === 'public') {
          // The route may refuse what is sent (a wrong password, no session): the pipeline does not ask for a token.
          assert.ok(!TOKEN_CODES.includes(plain.json?.error?.code), `${what}: ${plain.text}`);
          assert.ok(!refusedFor(plain.status, plain.json?.error?.code), what);
          const anonymous = await requestFor(api, method, path, op, input);
          assert.ok(!TOKEN_CODES.includes(anonymous.json?.error?.code), `${what}, with no token: ${anonymous.text}`);
        } else if (verdict === 'refused') {
          assert.equal(plain.json?.error?.code, 'forbidden', what);
          assert.equal(stepped.json?.error?.code, 'forbidden', `${what}, even with MFA`);
        } else if (verdict === 'MFA step-up') {
          assert.equal(plain.json?.error?.code, 'mfa_required', what);
          assert.ok(!refusedFor(stepped.status, stepped.json?.error?.code), `${what} with MFA: ${stepped.text}`);
        } else {
          assert.ok(!refusedFor(plain.status, plain.json?.error?.code), `${what}: ${plain.text}`);
        }
        if (verdict !== 'public') {
          const anonymous = await requestFor(api, method, path, op, input);
          assert.equal(anonymous.json?.error?.code, 'missing_token', `${key(method, path)} with no token`);
        }
      }
    }
  });

  it('refuses an account with an unverified address exactly where the table says, over HTTP', async function () {
    const now = Math.floor(Date.now() / 1000);
    for (const { method, path, op } of operations()) {
      const policy = expectedFor(method, path);
      if (policy.unverified === '—') continue;
      // An admin with a fresh MFA sign-in: nothing but the address stands in the way.
      const token = await api.token({ sub: 'm-unverified', roles: ['admin'], mfa: true, authTime: now, emailVerified: false });
      const response = await requestFor(api, method, path, op, { ...validInput(op), token });
      const code = response.json?.error?.code;
      if (policy.unverified === 'no') assert.equal(code, 'email_not_verified', `${key(method, path)}: ${response.text}`);
      else assert.ok(code !== 'email_not_verified' && !refusedFor(response.status, code), `${key(method, path)}: ${response.text}`);
    }
  });

  it('CSRF-checks the session cookie exactly where the table says, over HTTP', async function () {
    const cookie = `${api.runtime.config.auth.sessionCookieName}=${FORGED_SESSION}`;
    for (const { method, path, op } of operations()) {
      const policy = expectedFor(method, path);
      const input = validInput(op);
      // Sent from an allowed origin, with no X-CSRF-Token: only the token is missing.
      const response = await requestFor(api, method, path, op, { ...input, headers: { cookie, origin: ALLOWED_ORIGIN } });
      const code = response.json?.error?.code;
      const unsafe = method.toUpperCase() !== 'GET';
      if (policy.cookie && unsafe) assert.equal(code, 'csrf_token_invalid', `${key(method, path)}: ${response.text}`);
      else assert.notEqual(code, 'csrf_token_invalid', `${key(method, path)} does not take the cookie, or is safe`);
    }
  });

  it('limits each route by the buckets the table names, over HTTP', async function () {
    // Bucket sizes told apart by their size: the answer's RateLimit-Policy names its tightest bucket.
    const sized = await startApi({ RATE_LIMIT_GLOBAL_PER_MINUTE: '9000', RATE_LIMIT_API_PER_MINUTE: '800', RATE_LIMIT_CREATE_PER_MINUTE: '70' });
    try {
      for (const { method, path, op } of operations()) {
        const policy = expectedFor(method, path);
        const tightest = policy.limits.includes('create') ? '70;w=60' : policy.limits.includes('api') ? '800;w=60' : '9000;w=60';
        const token = await sized.token({ sub: `limits-${key(method, path)}`, roles: ['admin'], mfa: true, authTime: Math.floor(Date.now() / 1000) });
        const response = await requestFor(sized, method, path, op, { ...validInput(op), token });
        assert.equal(response.headers['ratelimit-policy'], tightest, `${key(method, path)}: ${JSON.stringify(response.headers)}`);
      }
    } finally {
      await sized.close();
    }
  });
});
