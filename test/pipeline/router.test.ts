/**
 * Route matching: a path matches a route segment by segment, a `:name` segment captures one
 * segment (percent-decoded), empty segments (`//`, a trailing `/`) do not count, and a function
 * answers under its own root as under its prefix. A path some route takes with another method
 * is a 405 naming the methods it takes; any other path is not found. HEAD is answered as GET.
 */
import assert from 'node:assert/strict';
import { methodsFor, Router } from '../../functions/src/pipeline/router.ts';
import type { Route } from '../../functions/src/pipeline/route.ts';

const route = (id: string, method: Route['method'], path: string): Route =>
  ({ id, function: 'items', method, path, access: { public: true }, handler: async () => ({ status: 200 }) }) as unknown as Route;

const routes = [
  route('list', 'GET', '/items'),
  route('create', 'POST', '/items'),
  route('get', 'GET', '/items/:id'),
  route('delete', 'DELETE', '/items/:id'),
  route('file', 'GET', '/items/:id/files/:name'),
  route('export', 'GET', '/items/export'),
  route('elsewhere', 'GET', '/auth/me'),
];

describe('router', function () {
  const router = new Router('items', routes.slice(0, -1));

  const found = (method: string, path: string) => {
    const match = router.match(method, path);
    assert.equal(match.kind, 'found', `${method} ${path}`);
    return match;
  };

  it('matches literal segments and captures parameters, in declaration order', function () {
    assert.equal(found('GET', '/items').route.id, 'list');
    assert.equal(found('POST', '/items').route.id, 'create');
    assert.deepEqual(found('GET', '/items/abc').params, { id: 'abc' });
    assert.deepEqual(found('GET', '/items/abc/files/photo.png').params, { id: 'abc', name: 'photo.png' });
    // `/items/export` is also `/items/:id`: the route declared first takes it.
    assert.equal(found('GET', '/items/export').route.id, 'get');
  });

  it('percent-decodes parameters, and a malformed escape matches nothing', function () {
    assert.deepEqual(found('GET', '/items/a%20b%2Fc').params, { id: 'a b/c' });
    assert.deepEqual(router.match('GET', '/items/%E0%A4%A'), { kind: 'not-found' });
  });

  it('does not count empty segments', function () {
    assert.deepEqual(found('GET', '/items/abc/').params, { id: 'abc' });
    assert.deepEqual(found('GET', '/items//abc').params, { id: 'abc' });
    assert.equal(found('GET', '/items/').route.id, 'list');
  });

  it("answers under the function's own root (its Cloud Functions URL) as under its prefix", function () {
    assert.equal(found('GET', '/').route.id, 'list');
    assert.deepEqual(found('GET', '/abc').params, { id: 'abc' });
    assert.deepEqual(found('GET', '/abc/files/x').params, { id: 'abc', name: 'x' });
    // Without the exact prefix a path is read from the root: `/itemsx` is an id, `//items/abc` two segments more.
    assert.deepEqual(found('GET', '/itemsx').params, { id: 'itemsx' });
    assert.deepEqual(router.match('GET', '//items/abc/files'), { kind: 'not-found' });
  });

  it('answers HEAD as GET', function () {
    assert.equal(found('HEAD', '/items/abc').route.id, 'get');
  });

  it('is 405 with the methods the path takes, else not found', function () {
    assert.deepEqual(router.match('PUT', '/items/abc'), { kind: 'method-not-allowed', allowed: ['GET', 'DELETE'] });
    assert.deepEqual(router.match('DELETE', '/items'), { kind: 'method-not-allowed', allowed: ['GET', 'POST'] });
    for (const path of ['/items/abc/files', '/items/abc/files/x/y', '/other/abc']) {
      assert.deepEqual(router.match('GET', path), { kind: 'not-found' }, path);
    }
    assert.deepEqual(methodsFor(router, '/items/abc'), ['GET', 'DELETE']);
    assert.deepEqual(methodsFor(router, '/nowhere/at/all/x'), []);
  });

  it("refuses a route outside its function's prefix", function () {
    assert.throws(() => new Router('items', routes), /route elsewhere must live under \/items/);
  });
});
