/**
 * App Check on HTTP functions, over real HTTP, with keys made here and their JWKS served on
 * loopback: enforced, a request needs a token App Check would have issued for this project (and
 * one of its apps), each refusal with its own 401 code; routes that consume tokens take each once,
 * also when two requests race; monitored, nothing is refused and the verdict is logged; keys that
 * cannot be fetched answer 503 quickly; a route's own mode wins over its function's.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../functions/src/config/index.ts';
import { APP_ID, PROJECT_NUMBER, startAppCheckIssuer, JWKS_PATH, type AppCheckIssuer } from '../support/app-check.ts';
import { ALLOWED_ORIGIN, startApi, type TestApi } from '../support/api.ts';

const HEADER = 'x-firebase-appcheck';

describe('App Check (pipeline/app-check.ts, auth/app-check.ts)', function () {
  let issuer: AppCheckIssuer;
  let api: TestApi | undefined;
  let token: string;

  beforeEach(async function () {
    issuer = await startAppCheckIssuer();
  });

  afterEach(async function () {
    await api?.close();
    api = undefined;
    await issuer.close();
  });

  const start = async (env: Record<string, string>) => {
    api = await startApi({ ...issuer.env, ...env });
    token = await api.token({ sub: 'ada', roles: ['user'] });
    return api;
  };
  const listItems = (appCheck?: string) => api!.request('GET', '/items', { token, headers: appCheck === undefined ? {} : { [HEADER]: appCheck } });
  const refusedWith = async (appCheck: string | undefined, code: string) => {
    const response = await listItems(appCheck);
    assert.equal(response.status, 401, response.text);
    assert.equal(response.json.error.code, code);
    assert.ok(response.headers['www-authenticate']);
    return response;
  };

  describe('enforced', function () {
    it('lets a request with a valid token through, and refuses one without', async function () {
      await start({ APP_CHECK_ITEMS: 'enforce' });
      assert.equal((await listItems(await issuer.token())).status, 200);
      await refusedWith(undefined, 'app_check_missing');
      await refusedWith('', 'app_check_missing');
    });

    it('refuses a token that is forged, expired, for another project, from another issuer, of another algorithm or for an app not listed', async function () {
      await start({ APP_CHECK_ITEMS: 'enforce', APP_CHECK_APP_IDS: APP_ID });
      const now = Math.floor(Date.now() / 1000);
      await refusedWith('not.a.token', 'app_check_invalid');
      await refusedWith(await issuer.token({ key: await issuer.strangerKey() }), 'app_check_invalid');
      const expired = await refusedWith(await issuer.token({ expiresAt: now - 60 }), 'app_check_invalid');
      assert.match(expired.json.error.message, /expired/);
      const audience = await refusedWith(await issuer.token({ claims: { aud: ['projects/999999999999'] } }), 'app_check_invalid');
      assert.match(audience.json.error.message, /aud/);
      await refusedWith(await issuer.token({ claims: { iss: 'https://securetoken.google.com/demo-bastion' } }), 'app_check_invalid');
      await refusedWith(await issuer.token({ header: { typ: 'at+jwt' } }), 'app_check_invalid');
      await refusedWith(await issuer.token({ header: { kid: 'another-key' } }), 'app_check_invalid');
      const otherApp = await refusedWith(await issuer.token({ claims: { sub: `1:${PROJECT_NUMBER}:android:ffff` } }), 'app_check_invalid');
      assert.match(otherApp.json.error.message, /app this API does not serve/);
      // An unsigned token ("alg": "none") carrying the right claims.
      const [, payload] = (await issuer.token()).split('.');
      const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
      await refusedWith(unsigned, 'app_check_invalid');
    });

    it('fetches the keys once for many requests, as their Cache-Control allows', async function () {
      await start({ APP_CHECK_ITEMS: 'enforce' });
      const appCheck = await issuer.token();
      const answers = await Promise.all(Array.from({ length: 8 }, () => listItems(appCheck)));
      assert.deepEqual(
        answers.map((answer) => answer.status),
        Array.from({ length: 8 }, () => 200),
      );
      assert.equal(issuer.keys.hits(JWKS_PATH), 1);
    });

    it('answers 503 app_check_unavailable with Retry-After, quickly, when the keys cannot be fetched', async function () {
      issuer.keys.on(JWKS_PATH, { answer: 'down', status: 500 });
      await start({ APP_CHECK_ITEMS: 'enforce' });
      const started = Date.now();
      const response = await listItems(await issuer.token());
      assert.equal(response.status, 503, response.text);
      assert.equal(response.json.error.code, 'app_check_unavailable');
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.ok(Date.now() - started < 4000, `answered after ${Date.now() - started} ms`);
      issuer.keys.on(JWKS_PATH, { answer: '{"keys": "garbage"}' });
      assert.equal((await listItems(await issuer.token())).json.error.code, 'app_check_unavailable');
    });

    it('leaves the functions and routes whose mode is off alone', async function () {
      await start({ APP_CHECK_ITEMS: 'enforce', APP_CHECK_AUTH: 'enforce' });
      assert.equal((await api!.request('GET', '/uploads', { token })).status, 200, 'uploads is off');
      assert.equal((await api!.request('GET', '/auth/.well-known/jwks.json')).status, 200, 'the JWKS route says off');
      assert.equal((await api!.request('GET', '/openapi.json')).status, 200, 'the document says off');
      assert.equal((await api!.request('GET', '/auth/me', { token })).json.error.code, 'app_check_missing', 'the rest of auth is enforced');
    });

    it('lets a browser send the header: the preflight allows it', async function () {
      await start({ APP_CHECK_ITEMS: 'enforce' });
      const preflight = await api!.request('OPTIONS', '/items', {
        headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, x-firebase-appcheck' },
      });
      assert.equal(preflight.status, 204, preflight.text);
      assert.match(String(preflight.headers['access-control-allow-headers']), /X-Firebase-AppCheck/i);
    });
  });

  describe('routes that consume tokens (limited use)', function () {
    const login = (appCheck: string) =>
      api!.request('POST', '/auth/login', { headers: { [HEADER]: appCheck }, body: { email: 'nobody@example.com', password: 'not the password at all' } });

    it('take each token once: used again, it is refused as replayed', async function () {
      await start({ APP_CHECK_AUTH: 'enforce' });
      const appCheck = await issuer.token();
      assert.equal((await login(appCheck)).json.error.code, 'invalid_credentials', 'the first use gets through to the route');
      const again = await login(appCheck);
      assert.equal(again.status, 401);
      assert.equal(again.json.error.code, 'app_check_replayed');
      assert.equal((await listItems(appCheck)).status, 200, 'a route that does not consume still takes it');
    });

    it('let one of two racing requests with the same token through', async function () {
      await start({ APP_CHECK_AUTH: 'enforce' });
      const appCheck = await issuer.token();
      const codes = (await Promise.all([login(appCheck), login(appCheck)])).map((answer) => answer.json.error.code as string).sort();
      assert.deepEqual(codes, ['app_check_replayed', 'invalid_credentials']);
    });

    it('remember a token only until it expires', async function () {
      await start({ APP_CHECK_AUTH: 'enforce' });
      const expiresAt = Math.floor(Date.now() / 1000) + 600;
      await login(await issuer.token({ expiresAt }));
      const [kept] = (await api!.store.query<{ expiresAt: number }>('appCheckTokens', { limit: 5 })).documents;
      assert.equal(kept!.data.expiresAt, expiresAt * 1000);
      assert.equal(kept!.id.length, 64, 'a hash, not the token');
    });
  });

  describe('monitored', function () {
    it('refuses nothing, and logs what enforcing would have refused', async function () {
      await start({ APP_CHECK_ITEMS: 'monitor' });
      assert.equal((await listItems()).status, 200);
      assert.equal((await listItems(await issuer.token({ key: await issuer.strangerKey() }))).status, 200);
      const verdicts = api!.logs.filter((line) => line.event === 'app_check.monitor').map((line) => line.code as string);
      assert.deepEqual(verdicts, ['app_check_missing', 'app_check_invalid']);
      assert.equal((await listItems(await issuer.token())).status, 200);
    });

    it('goes on when the keys cannot be fetched', async function () {
      issuer.keys.on(JWKS_PATH, { hang: true });
      await start({ APP_CHECK_ITEMS: 'monitor' });
      assert.equal((await listItems(await issuer.token())).status, 200);
      assert.ok(api!.logs.some((line) => line.event === 'app_check.monitor' && line.code === 'app_check_unavailable'));
    });
  });

  it('documents the enforced routes: the appCheck security scheme and x-app-check', async function () {
    await start({ APP_CHECK_ITEMS: 'enforce' });
    const document = (await api!.request('GET', '/openapi.json')).json;
    assert.equal(document.components.securitySchemes.appCheck.name, 'X-Firebase-AppCheck');
    assert.deepEqual(document.paths['/items'].get.security, [
      { bearerAuth: [], appCheck: [] },
      { serviceKeyId: [], serviceTimestamp: [], serviceSignature: [] },
    ]);
    assert.deepEqual(document.paths['/items'].get['x-app-check'], { mode: 'enforce', consume: false });
    assert.deepEqual(document.paths['/uploads'].get.security, [{ bearerAuth: [] }, { serviceKeyId: [], serviceTimestamp: [], serviceSignature: [] }]);
    assert.deepEqual(document.paths['/auth/login'].post['x-app-check'], { mode: 'off', consume: true });
  });

  it('is configured by the environment, refusing a mode without the project number and malformed app ids', async function () {
    await assert.rejects(loadConfig({ APP_ENV: 'development', APP_CHECK_ITEMS: 'enforce' }), /APP_CHECK_PROJECT_NUMBER is not set/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', APP_CHECK_ITEMS: 'strict', APP_CHECK_PROJECT_NUMBER: PROJECT_NUMBER }), /APP_CHECK_ITEMS/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', APP_CHECK_PROJECT_NUMBER: 'demo-bastion' }), /project number/);
    await assert.rejects(loadConfig({ APP_ENV: 'development', APP_CHECK_APP_IDS: 'my-app' }), /app ids/);
  });
});
