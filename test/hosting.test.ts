/**
 * firebase.json's Hosting: the web app served with the same page headers the local server
 * sends, and the API same-origin through rewrites of every function's paths and of the paths
 * the local server routes outside them (so the browser's session cookie reaches the API).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FUNCTION_NAMES, ROOT_PATHS } from '../functions/src/app.ts';
import { recordHelmetHeaders } from '../functions/src/pipeline/security-headers.ts';

const firebase = JSON.parse(readFileSync(new URL('../firebase.json', import.meta.url), 'utf8'));
const hosting = firebase.hosting as {
  public: string;
  predeploy: string[];
  rewrites: { source: string; function: string }[];
  headers: { source: string; headers: { key: string; value: string }[] }[];
};

describe('Firebase Hosting (firebase.json)', function () {
  it('serves the built web app, building it before deploy', function () {
    assert.equal(hosting.public, 'web/dist');
    assert.deepEqual(hosting.predeploy, ['npm run build:web']);
  });

  it('rewrites each function\'s paths to it, and the root paths the local server routes', function () {
    const rewrites = new Map(hosting.rewrites.map((r) => [r.source, r.function]));
    for (const name of FUNCTION_NAMES) {
      assert.equal(rewrites.get(`/${name}`), name);
      assert.equal(rewrites.get(`/${name}/**`), name);
    }
    for (const [path, name] of Object.entries(ROOT_PATHS)) assert.equal(rewrites.get(path), name, path);
    assert.equal(hosting.rewrites.length, FUNCTION_NAMES.length * 2 + Object.keys(ROOT_PATHS).length, 'nothing else');
  });

  it('sends the page headers the local server sends, on everything it serves', function () {
    const [all] = hosting.headers;
    assert.equal(all?.source, '**');
    assert.deepEqual(
      all!.headers.map(({ key, value }) => [key.toLowerCase(), value]),
      recordHelmetHeaders('page').map(([key, value]) => [key.toLowerCase(), value]),
    );
  });
});
