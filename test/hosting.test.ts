/**
 * firebase.json's Hosting: the web app served with the same page headers the local server
 * sends, and the API same-origin through rewrites of every function's paths (dot segments
 * included) and of the paths the local server routes outside them, to the functions' region.
 * Page headers never reach an API answer. The emulator leg (test/emulators) runs the same
 * rules through the Hosting emulator itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FUNCTION_NAMES, ROOT_PATHS } from '../functions/src/app.ts';
import { withHostingRules } from '../functions/src/deploy/hosting.ts';
import { REGION } from '../functions/src/deploy/options.ts';
import { recordHelmetHeaders } from '../functions/src/pipeline/security-headers.ts';

const firebase = JSON.parse(readFileSync(new URL('../firebase.json', import.meta.url), 'utf8'));
const hosting = firebase.hosting as {
  public: string;
  predeploy: string[];
  rewrites: { regex: string; function: { functionId: string; region: string } }[];
  headers: { regex: string; headers: { key: string; value: string }[] }[];
};

/** Hosting matches `regex` rules as RE2 against the path (superstatic: patterns.configMatcher). */
const matches = (rule: { regex: string }, path: string) => new RegExp(rule.regex, 'u').test(path);
const rewrittenTo = (path: string) => hosting.rewrites.find((rule) => matches(rule, path))?.function;
const pageHeadersOn = (path: string) => hosting.headers.some((rule) => matches(rule, path));

// Written by hand, not read from the code: the paths a browser and an app ask Hosting for.
const API_PATHS: [string, string][] = [
  ['/auth', 'auth'],
  ['/auth/login', 'auth'],
  ['/auth/.well-known/jwks.json', 'auth'],
  ['/auth/openapi.json', 'auth'],
  ['/openapi.json', 'auth'],
  ['/items', 'items'],
  ['/items/', 'items'],
  ['/items/0b1c2d3e', 'items'],
  ['/items/x.js', 'items'],
  ['/uploads', 'uploads'],
  ['/uploads/9f8e7d6c/content', 'uploads'],
];
const WEB_PATHS = ['/', '/index.html', '/main.js', '/app.css', '/screens/items.js', '/favicon.ico', '/itemsx', '/author', '/upload', '/openapi.jsonx'];

describe('Firebase Hosting (firebase.json)', function () {
  it('holds exactly the rules npm run docs generates', function () {
    assert.deepEqual(firebase, withHostingRules(firebase), 'run npm run docs and commit firebase.json');
  });

  it('serves the built web app, building it before deploy', function () {
    assert.equal(hosting.public, 'web/dist');
    assert.deepEqual(hosting.predeploy, ['npm run build:web']);
  });

  it("rewrites every function's paths, dot segments included, and the root paths, to that function in the functions' region", function () {
    for (const [path, name] of API_PATHS) assert.deepEqual(rewrittenTo(path), { functionId: name, region: REGION }, path);
    for (const name of FUNCTION_NAMES) assert.equal(rewrittenTo(`/${name}/a/.b/c`)?.functionId, name);
    for (const [path, name] of Object.entries(ROOT_PATHS)) assert.equal(rewrittenTo(path)?.functionId, name, path);
    for (const path of WEB_PATHS) assert.equal(rewrittenTo(path), undefined, path);
  });

  it('sends the page headers the local server sends on the web app, and none on an API path', function () {
    const [page] = hosting.headers;
    assert.deepEqual(
      page!.headers.map(({ key, value }) => [key.toLowerCase(), value]),
      recordHelmetHeaders('page').map(([key, value]) => [key.toLowerCase(), value]),
    );
    for (const path of WEB_PATHS) assert.ok(pageHeadersOn(path), path);
    for (const [path] of API_PATHS) assert.ok(!pageHeadersOn(path), path);
  });

  it('says Cache-Control: private, without which Hosting drops a Set-Cookie', function () {
    const cacheControl = hosting.headers[0]!.headers.find((h) => h.key === 'Cache-Control')?.value ?? '';
    assert.match(cacheControl, /\bprivate\b/);
    assert.match(cacheControl, /\bno-store\b/);
  });
});
