/**
 * What the web app is told about Firebase sign-in (GET /auth/web-config), over real HTTP, and
 * what its page may then connect to: nothing beyond its own origin unless the deployment offers
 * Firebase sign-in (FIREBASE_WEB_API_KEY with FIREBASE_AUTH=on), and then Firebase Auth's two
 * origins — Google's, or the Auth emulator's where FIREBASE_AUTH_EMULATOR_HOST is set. The same
 * rule for Hosting's page headers, from WEB_FIREBASE_SIGN_IN. The sign-in itself, in Chromium
 * against the Auth emulator, is test/web/firebase-sign-in.test.ts.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../functions/src/config/index.ts';
import { hostingHeaders } from '../../functions/src/deploy/hosting.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { buildWebApp } from '../support/web.ts';

const ON = { FIREBASE_AUTH: 'on', GCLOUD_PROJECT: 'demo-bastion', FIREBASE_WEB_API_KEY: 'AIzaSyDemoWebApiKey-0123456789' };
const connectSrc = (csp: unknown) => /(?:^|;)connect-src ([^;]*)/.exec(String(csp))?.[1];

describe('Firebase sign-in for the web app (auth/firebase-web-sign-in.ts)', function () {
  let api: TestApi | undefined;

  before(function () {
    buildWebApp();
  });

  afterEach(async function () {
    await api?.close();
    api = undefined;
  });

  it('is not offered by default: the web configuration says null, and the page connects to its own origin only', async function () {
    api = await startApi();
    const answer = await api.request('GET', '/auth/web-config');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { firebase: null });
    assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/, 'an API answer, with the JSON CSP');
    const page = await api.request('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(connectSrc(page.headers['content-security-policy']), undefined, "default-src 'self' governs connections");
  });

  it("is offered with FIREBASE_WEB_API_KEY and FIREBASE_AUTH on: the project, its Web API key, Google's endpoints, and a page that may reach exactly them", async function () {
    api = await startApi(ON);
    const answer = await api.request('GET', '/auth/web-config');
    assert.deepEqual(answer.json, {
      firebase: {
        apiKey: ON.FIREBASE_WEB_API_KEY,
        projectId: 'demo-bastion',
        identityToolkitUrl: 'https://identitytoolkit.googleapis.com/v1',
        secureTokenUrl: 'https://securetoken.googleapis.com/v1',
      },
    });
    const page = await api.request('GET', '/');
    assert.equal(connectSrc(page.headers['content-security-policy']), "'self' https://identitytoolkit.googleapis.com https://securetoken.googleapis.com");
    const apiAnswer = await api.request('GET', '/auth/web-config');
    assert.equal(connectSrc(apiAnswer.headers['content-security-policy']), undefined, 'API answers keep their own CSP');
  });

  it('points the page at the Auth emulator where FIREBASE_AUTH_EMULATOR_HOST is set, and lets it connect there, not to Google', async function () {
    api = await startApi({ ...ON, FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' });
    const { firebase } = (await api.request('GET', '/auth/web-config')).json;
    assert.equal(firebase.identityToolkitUrl, 'http://127.0.0.1:9099/identitytoolkit.googleapis.com/v1');
    assert.equal(firebase.secureTokenUrl, 'http://127.0.0.1:9099/securetoken.googleapis.com/v1');
    assert.equal(connectSrc((await api.request('GET', '/')).headers['content-security-policy']), "'self' http://127.0.0.1:9099");
  });

  it('refuses to start with a Web API key but FIREBASE_AUTH off, or with one that is not a key', async function () {
    await assert.rejects(loadConfig({ APP_ENV: 'development', FIREBASE_WEB_API_KEY: ON.FIREBASE_WEB_API_KEY }), /FIREBASE_WEB_API_KEY is set but FIREBASE_AUTH is off/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', ...ON, FIREBASE_WEB_API_KEY: 'key"; script-src *' }), /Web API key[\s\S]*at FIREBASE_WEB_API_KEY/);
  });

  it("gives Hosting's page headers the same rule: Firebase Auth's origins only where WEB_FIREBASE_SIGN_IN says so", function () {
    const cspOf = (rules: ReturnType<typeof hostingHeaders>) => rules[0]!.headers.find((header) => header.key === 'Content-Security-Policy')?.value;
    assert.equal(connectSrc(cspOf(hostingHeaders())), undefined, 'the default (committed in firebase.json): none');
    assert.equal(connectSrc(cspOf(hostingHeaders({ firebaseSignIn: true }))), "'self' https://identitytoolkit.googleapis.com https://securetoken.googleapis.com");
  });
});
