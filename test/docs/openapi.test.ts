/**
 * The OpenAPI document: valid OpenAPI 3.1, committed up to date, served, and true — it lists
 * exactly the operations the server answers, a request built from an operation's documented
 * schema passes validation, one that violates it gets the documented 400, and every answer
 * matches the schema documented for its status.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { generatedDocs } from '../../functions/src/docs/generated.ts';
import { API_VERSION, openApiDocument } from '../../functions/src/docs/openapi.ts';
import { routes } from '../../functions/src/routes.ts';
import { startApi, type Response, type TestApi } from '../support/api.ts';
import { documented, operations, requestFor, validInput, type Json, type RequestInput } from './support.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const committed = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('OpenAPI document', function () {
  it('is valid OpenAPI 3.1', async function () {
    const result = await new Validator().validate(documented);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    // Every reference points at a component that exists.
    const refs = [...JSON.stringify(documented).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    const components = (documented.components as { schemas: Record<string, unknown> }).schemas;
    for (const ref of new Set(refs)) assert.ok(components[ref.replace('#/components/schemas/', '')], `dangling reference ${ref}`);
    assert.equal(documented.openapi, '3.1.0');
  });

  it('is committed as npm run docs writes it (docs/openapi.json, docs/security-matrix.md)', function () {
    for (const [name, text] of Object.entries(generatedDocs())) {
      assert.ok(committed(name) === text, `docs/${name} is out of date: run npm run docs`);
    }
  });

  it('documents every declared route once, with its policy as x- extensions', function () {
    const ops = operations(documented);
    assert.equal(ops.length, routes.length);
    for (const route of routes) {
      const op = ops.find((o) => o.op.operationId === route.id)!;
      assert.ok(op, route.id);
      assert.equal(op.method, route.method.toLowerCase());
      assert.ok(op.op['x-rate-limit'].some((b: Json) => b.bucket === 'global'));
      for (const bucket of route.rateLimit) assert.ok(op.op['x-rate-limit'].some((b: Json) => b.bucket === bucket), `${route.id} ${bucket}`);
      const access = op.op['x-access'];
      if ('public' in route.access) assert.deepEqual(access, { public: true });
      else assert.deepEqual(access, { roles: route.access.roles, mfaRoles: route.access.mfa ?? [] });
    }
  });

  describe('against the running server', function () {
    let api: TestApi;
    let token: string;
    let ajv: Ajv2020;

    before(async function () {
      api = await startApi();
      token = await api.token({ sub: 'docs-admin', roles: ['user', 'admin'], mfa: true });
      ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema({ $id: 'doc', components: documented.components });
    });

    after(async function () {
      await api?.close();
    });

    /** Whether a response's body matches what the operation documents for its status. */
    function assertDocumented(op: Json, response: Response, what: string): void {
      const documentedResponse = op.responses[String(response.status)];
      assert.ok(documentedResponse, `${what}: status ${response.status} is not documented (${response.text.slice(0, 200)})`);
      const schema = documentedResponse.content?.['application/json']?.schema;
      if (!schema) return;
      const resolved = JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components'));
      const valid = ajv.validate(resolved, response.json);
      assert.ok(valid, `${what}: ${response.status} body does not match its schema: ${ajv.errorsText()} ${response.text.slice(0, 300)}`);
    }

    const request = (method: string, path: string, op: Json, options: RequestInput = {}) => requestFor(api, method, path, op, { token, ...options });

    it('serves it at /openapi.json and /auth/openapi.json, public, with the headers of every response', async function () {
      for (const path of ['/openapi.json', '/auth/openapi.json']) {
        const response = await api.request('GET', path);
        assert.equal(response.status, 200, path);
        // The document of this deployment: its own rate limits and cookie name.
        const { rateLimits, auth, appCheck, firebaseAuth } = api.runtime.config;
        assert.deepEqual(
          response.json,
          openApiDocument(routes, { version: API_VERSION, rateLimits, sessionCookieName: auth.sessionCookieName, appCheckModes: appCheck.modes, firebaseAuth: firebaseAuth.enabled }),
        );
        assert.equal(response.headers['x-content-type-options'], 'nosniff');
        assert.equal(response.headers['cache-control'], 'private, no-store');
        assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
        assert.ok(response.headers['ratelimit-limit'], 'rate-limited');
      }
    });

    it('lists exactly the operations the server answers: each documented one is routed, every other method on its path is 405', async function () {
      for (const [path, item] of Object.entries(documented.paths)) {
        for (const method of METHODS) {
          const op = (item as Json)[method];
          const response = await request(method, path, op ?? { security: [], responses: {} }, { params: op ? validInput(op).params : {} });
          if (op) {
            assert.ok(response.status !== 405 && response.json?.error?.message !== 'No such route.', `${method} ${path} is documented but not routed`);
          } else {
            assert.equal(response.status, 405, `${method} ${path} is routed but not documented`);
          }
        }
      }
    });

    it('accepts a request built from each operation\'s documented schema, and answers with a documented status and body', async function () {
      for (const { method, path, op } of operations(documented)) {
        const input = validInput(op);
        const response = await request(method, path, op, input);
        assert.ok(!(response.status === 400 && response.json?.error?.code === 'validation_failed'), `${op.operationId}: ${response.text}`);
        assertDocumented(op, response, op.operationId);
      }
    });

    it('answers a request that violates the documented schema with the documented 400', async function () {
      for (const { method, path, op } of operations(documented)) {
        const input = validInput(op);
        // No operation documents a parameter of this name: every one must refuse it.
        const unknownQuery = await request(method, path, op, { ...input, query: '?unexpected=1' });
        assert.equal(unknownQuery.status, 400, `${op.operationId}: ${unknownQuery.text}`);
        assert.equal(unknownQuery.json.error.code, 'validation_failed');
        assertDocumented(op, unknownQuery, `${op.operationId} with an unknown query parameter`);
        if (input.body !== undefined) {
          const unknownField = await request(method, path, op, { ...input, body: { ...(input.body as Json), unexpected: 1 } });
          assert.equal(unknownField.status, 400, `${op.operationId}: ${unknownField.text}`);
          assertDocumented(op, unknownField, `${op.operationId} with an unknown body field`);
        }
        for (const parameter of (op.parameters ?? []).filter((p: Json) => p.in === 'path')) {
          const badParam = await request(method, path, op, { ...input, params: { ...input.params, [parameter.name]: 'not an id!' } });
          assert.equal(badParam.status, 400, `${op.operationId} ${parameter.name}: ${badParam.text}`);
          assertDocumented(op, badParam, `${op.operationId} with a malformed ${parameter.name}`);
        }
      }
    });
  });
});
