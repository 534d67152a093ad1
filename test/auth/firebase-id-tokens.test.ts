/**
 * Firebase Auth ID tokens beside bastion's own, over real HTTP, against firebase-tools' Auth
 * emulator (pure Node; it runs here): a Firebase user calls the API with its ID token, as
 * `firebase:<uid>`, with roles from its `roles` custom claim or the default role; a second-factor
 * sign-in counts as MFA; a disabled user is refused; a token of another project is refused; with
 * FIREBASE_AUTH off such a token is nobody's; Firebase Auth unreachable answers 503 quickly.
 * Production refuses to start with FIREBASE_AUTH_EMULATOR_HOST set (firebase-admin would take
 * unsigned tokens).
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../functions/src/config/index.ts';
import { PROJECT_ID, startAuthEmulator } from '../../scripts/emulators.ts';
import { FIREBASE_TOOLS_VERSION, installedFirebaseTools } from '../../scripts/firebase-tools.ts';
import { productionEnv } from '../config/support.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { identityToolkit as identityToolkitAt } from '../support/auth-emulator.ts';
import { skipBecause } from '../support/skip.ts';

const PASSWORD = 'correct horse battery staple';

describe('Firebase Auth ID tokens (auth/firebase-id-tokens.ts), on the Auth emulator', function () {
  this.timeout(150_000);
  let emulator: { host: string; stop(): Promise<void> } | undefined;
  let api: TestApi | undefined;
  const previousHost = process.env.FIREBASE_AUTH_EMULATOR_HOST;

  before(async function () {
    // Installed by `npm run emulators` or .ci/run (whose driver leg runs this spec); a spec installs nothing.
    const firebaseTools = installedFirebaseTools();
    if (!firebaseTools) skipBecause(this, `firebase-tools ${FIREBASE_TOOLS_VERSION} is not installed (npm run emulators installs it; .ci/run's driver leg runs this spec)`);
    emulator = await startAuthEmulator(firebaseTools);
    // firebase-admin finds the emulator by this variable, as the Functions emulator sets it.
    process.env.FIREBASE_AUTH_EMULATOR_HOST = emulator.host;
  });

  after(async function () {
    if (previousHost === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
    else process.env.FIREBASE_AUTH_EMULATOR_HOST = previousHost;
    await emulator?.stop();
  });

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  const start = async (env: Record<string, string> = {}) => (api = await startApi({ FIREBASE_AUTH: 'on', GCLOUD_PROJECT: PROJECT_ID, ...env }));
  const identityToolkit = (path: string, body: unknown) => identityToolkitAt(emulator!.host, path, body);
  /**
   * A Firebase user signed up with the Web API, as a client app does, its address confirmed and
   * its custom claims set as the Admin SDK sets them (unless `verified` is false): its uid and ID token.
   */
  let counter = 0;
  async function firebaseUser(claims: Record<string, unknown> = {}, { verified = true } = {}): Promise<{ uid: string; idToken: string }> {
    counter += 1;
    const email = `firebase-${counter}-${Date.now()}@example.com`;
    const signedUp = await identityToolkit('accounts:signUp?key=emulator', { email, password: PASSWORD, returnSecureToken: true });
    if (!verified) return { uid: signedUp.localId as string, idToken: signedUp.idToken as string };
    await identityToolkit(`projects/${PROJECT_ID}/accounts:update`, { localId: signedUp.localId, emailVerified: true, customAttributes: JSON.stringify(claims) });
    const signedIn = await identityToolkit('accounts:signInWithPassword?key=emulator', { email, password: PASSWORD, returnSecureToken: true });
    return { uid: signedUp.localId as string, idToken: signedIn.idToken as string };
  }
  /** A token as the emulator takes it (unsigned), with claims of our choosing, for what the Web API cannot mint here. */
  function emulatorToken(uid: string, claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: `https://securetoken.google.com/${PROJECT_ID}`,
      aud: PROJECT_ID,
      sub: uid,
      user_id: uid,
      iat: now,
      exp: now + 3600,
      auth_time: now,
      email_verified: true,
      ...claims,
    };
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
  }

  it('lets a Firebase user call the API as firebase:<uid>, with the default role', async function () {
    await start();
    const { uid, idToken } = await firebaseUser();
    const created = await api!.request('POST', '/items', { token: idToken, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.ownerId, `firebase:${uid}`);
    assert.equal((await api!.request('GET', `/items/${created.json.id}`, { token: idToken })).status, 200);
    assert.equal((await api!.request('GET', '/items', { token: await api!.token({ sub: 'ada', roles: ['user'] }) })).status, 200, "bastion's own tokens still work beside");
  });

  it('holds a Firebase user whose address is not verified (email_verified false) to the same policy: reads, no writes', async function () {
    await start();
    const { idToken } = await firebaseUser({}, { verified: false });
    assert.equal((await api!.request('GET', '/items', { token: idToken })).status, 200);
    const write = await api!.request('POST', '/items', { token: idToken, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(write.json.error?.code, 'email_not_verified', write.text);
  });

  it('takes roles from the roles custom claim, dropping names that are not roles; none named: FIREBASE_AUTH_DEFAULT_ROLE', async function () {
    await start({ FIREBASE_AUTH_DEFAULT_ROLE: 'viewer' });
    const viewer = await firebaseUser();
    const write = await api!.request('POST', '/items', { token: viewer.idToken, body: { name: 'Desk lamp', description: 'Warm light' } });
    assert.equal(write.json.error?.code, 'forbidden', 'the default role, viewer, reads only');
    const user = await firebaseUser({ roles: ['user', 'superuser'] });
    assert.equal((await api!.request('POST', '/items', { token: user.idToken, body: { name: 'Desk lamp', description: 'Warm light' } })).status, 201);
  });

  it('counts a second-factor sign-in as MFA: an admin without one acts as a plain user, with one reaches the admin routes', async function () {
    await start();
    const { uid } = await firebaseUser();
    const withoutMfa = emulatorToken(uid, { roles: ['admin'], firebase: { sign_in_provider: 'password', identities: {} } });
    assert.equal((await api!.request('GET', '/auth/audit', { token: withoutMfa })).json.error?.code, 'mfa_required');
    const withMfa = emulatorToken(uid, { roles: ['admin'], firebase: { sign_in_provider: 'password', sign_in_second_factor: 'totp', identities: {} } });
    const audit = await api!.request('GET', '/auth/audit', { token: withMfa });
    assert.equal(audit.status, 200, audit.text);
  });

  it('refuses a disabled user at once, and a token of another project', async function () {
    await start();
    const { uid, idToken } = await firebaseUser();
    assert.equal((await api!.request('GET', '/items', { token: idToken })).status, 200);
    await identityToolkit(`projects/${PROJECT_ID}/accounts:update`, { localId: uid, disableUser: true });
    const disabled = await api!.request('GET', '/auth/audit', { token: emulatorToken(uid, { roles: ['admin'], firebase: { sign_in_second_factor: 'totp', identities: {} } }) });
    assert.equal(disabled.json.error?.code, 'account_disabled', disabled.text);
    const other = emulatorToken(uid, { iss: 'https://securetoken.google.com/another-project', aud: 'another-project' });
    assert.equal((await api!.request('GET', '/items', { token: other })).json.error?.code, 'invalid_token');
  });

  it('documents the Firebase ID token as a way to call, in the OpenAPI document of a deployment that takes them', async function () {
    await start();
    const document = (await api!.request('GET', '/openapi.json')).json;
    assert.equal(document.components.securitySchemes.firebaseIdToken.scheme, 'bearer');
    assert.ok(document.paths['/items'].get.security.some((requirement: Record<string, unknown>) => 'firebaseIdToken' in requirement));
  });

  it('with FIREBASE_AUTH off, takes a Firebase token for nobody', async function () {
    api = await startApi({ GCLOUD_PROJECT: PROJECT_ID });
    const { idToken } = await firebaseUser();
    const refused = await api.request('GET', '/items', { token: idToken });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'invalid_token');
  });

  it('refuses production with FIREBASE_AUTH_EMULATOR_HOST set, and FIREBASE_AUTH without a project', async function () {
    await assert.rejects(loadConfig(await productionEnv({ FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' })), /FIREBASE_AUTH_EMULATOR_HOST is set/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', FIREBASE_AUTH: 'on' }), /FIREBASE_AUTH is on but no project is known/);
  });

  // Last: it stops the emulator.
  it('answers 503 firebase_auth_unavailable, quickly, when Firebase Auth cannot be reached', async function () {
    await start();
    const { uid } = await firebaseUser();
    await emulator!.stop();
    emulator = undefined;
    const started = Date.now();
    const answer = await api!.request('GET', '/items', { token: emulatorToken(uid, {}) });
    assert.equal(answer.status, 503, answer.text);
    assert.equal(answer.json.error.code, 'firebase_auth_unavailable');
    assert.ok(Number(answer.headers['retry-after']) >= 1);
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
  });
});
