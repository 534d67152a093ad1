/**
 * The error catalog: every code a client can receive is declared once, with its status and its
 * message; the OpenAPI document and the web client take the codes from it; errors are raised by
 * code with the values their message names; every error class names itself in logs; and every
 * 401, the handlers' included, carries an RFC 6750 challenge.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AuthBusyError, PasswordCheckUnavailableError } from '../../functions/src/auth/busy-errors.ts';
import { PasswordHashFormatError } from '../../functions/src/auth/passwords.ts';
import { AccessTokenError } from '../../functions/src/auth/tokens.ts';
import { TotpSecretError } from '../../functions/src/auth/totp-secrets.ts';
import * as blobErrors from '../../functions/src/blobs/errors.ts';
import { ConfigError } from '../../functions/src/config/index.ts';
import { SigningKeyError } from '../../functions/src/config/signing-keys.ts';
import { TotpKeyError } from '../../functions/src/config/totp-keys.ts';
import { WEB_ERROR_CODES_PATH, webErrorCodes } from '../../functions/src/docs/error-codes.ts';
import { generatedDocs } from '../../functions/src/docs/generated.ts';
import { ApiError, MethodNotAllowedError, RateLimitedError } from '../../functions/src/errors/api-error.ts';
import { ERROR_CODES, ERRORS } from '../../functions/src/errors/catalog.ts';
import { NextCalledTwiceError } from '../../functions/src/pipeline/compose.ts';
import { headersFor } from '../../functions/src/pipeline/error-mapper.ts';
import * as storeErrors from '../../functions/src/store/errors.ts';
import { FileTypeRefusedError, UploadTooLargeError } from '../../functions/src/uploads/errors.ts';
import { WorkQueueBusyError } from '../../functions/src/work-queue.ts';
import { describe as describeProblem } from '../../web/src/messages.ts';
import { REPO } from '../store/server-process.ts';
import { startApi, type TestApi } from '../support/api.ts';

const WITNESSES = { extension: 'png', declaredType: 'image/png', sniffedType: 'image/gif' };

describe('error catalog', function () {
  it('gives every code a client status and a message; a message names its values as {name}', function () {
    assert.ok(ERROR_CODES.length >= 50, `${ERROR_CODES.length} codes`);
    for (const code of ERROR_CODES) {
      const { status, message } = ERRORS[code];
      assert.match(code, /^[a-z]+(_[a-z]+)*$/, code);
      assert.ok(status >= 400 && status <= 599, `${code}: ${status}`);
      assert.ok(message.length > 0, code);
      assert.doesNotMatch(message.replace(/\{\w+\}/g, ''), /[{}]/, `${code}: stray brace`);
    }
  });

  it('is what the OpenAPI Error schema lists, no more and no less', function () {
    const document = JSON.parse(generatedDocs()['openapi.json']);
    const codes = document.components.schemas.Error.properties.error.properties.code.enum;
    assert.deepEqual([...codes].sort(), [...ERROR_CODES].sort());
  });

  it("is what the web client's copy of the codes says (npm run docs writes it)", function () {
    assert.equal(readFileSync(`${REPO}${WEB_ERROR_CODES_PATH}`, 'utf8'), webErrorCodes(), 'run npm run docs');
  });

  it('has words in the web client for every code, not the server’s message', function () {
    for (const code of ERROR_CODES) {
      const words = describeProblem({ status: ERRORS[code].status, code, message: 'THE SERVER SAID' });
      assert.ok(!words.includes('THE SERVER SAID'), `${code} has no words in web/src/messages.ts`);
    }
  });

  describe('raising', function () {
    it('fills the values the message names, and takes the status from the catalog', function () {
      const error = new ApiError('not_found', { params: { what: 'item' } });
      assert.equal(error.message, 'No such item.');
      assert.equal(error.status, 404);
      assert.equal(error.code, 'not_found');
      assert.equal(new ApiError('email_already_verified').status, 409);
    });

    it('maps a 401 to a bare Bearer challenge, or invalid_token with a quotable description', function () {
      assert.equal(headersFor(new ApiError('missing_token'))['WWW-Authenticate'], 'Bearer realm="bastion"');
      assert.equal(headersFor(new ApiError('invalid_credentials'))['WWW-Authenticate'], 'Bearer realm="bastion"');
      const refused = headersFor(new ApiError('invalid_token', { params: { reason: 'the header must be "Bearer <token>"' } }))['WWW-Authenticate'];
      assert.equal(refused, `Bearer realm="bastion", error="invalid_token", error_description="The access token is not valid: the header must be 'Bearer <token>'."`);
      assert.equal(headersFor(new ApiError('forbidden', { params: { action: 'this' } }))['WWW-Authenticate'], undefined);
    });

    it('maps Retry-After: what the error says, and 1 s for any other 503', function () {
      assert.equal(headersFor(new ApiError('store_unavailable'))['Retry-After'], '1');
      assert.equal(headersFor(new AuthBusyError())['Retry-After'], '2');
      assert.equal(headersFor(new RateLimitedError(42))['Retry-After'], '42');
      assert.equal(headersFor(new ApiError('not_found', { params: { what: 'item' } }))['Retry-After'], undefined);
    });

    it('keeps the headers an error adds: Allow on a 405, Connection: close on an upload over its limit', function () {
      assert.equal(headersFor(new MethodNotAllowedError(['GET', 'POST'])).Allow, 'GET, POST');
      assert.equal(headersFor(new UploadTooLargeError('too_many_files', {})).Connection, 'close');
    });
  });

  it('names each error class in logs (no more "Error" for every failure)', function () {
    const instances: Error[] = [
      new ApiError('email_already_verified'),
      new RateLimitedError(1),
      new MethodNotAllowedError(['GET']),
      new AuthBusyError(),
      new PasswordCheckUnavailableError(),
      new FileTypeRefusedError('extension_mismatch', WITNESSES),
      new UploadTooLargeError('file_too_large', { params: { limit: 1 } }),
      new PasswordHashFormatError('x'),
      new AccessTokenError('invalid', undefined),
      new TotpSecretError('x'),
      new ConfigError('x'),
      new SigningKeyError('x'),
      new TotpKeyError('x'),
      new NextCalledTwiceError(),
      new WorkQueueBusyError('full', { concurrency: 1, maxWaiting: 0, maxWaitMs: 1 }),
      ...Object.values(storeErrors).map((Class) => new (Class as new (...args: string[]) => Error)('a', 'b')),
      ...Object.values(blobErrors).map((Class) => new (Class as new (...args: string[]) => Error)('a')),
    ];
    for (const error of instances) assert.equal(error.name, error.constructor.name);
  });

  describe('over HTTP: every 401 carries WWW-Authenticate', function () {
    let api: TestApi;

    before(async function () {
      api = await startApi();
    });

    after(async function () {
      await api.close();
    });

    const cases: [string, string, string, Record<string, unknown> | undefined, Record<string, string>, string][] = [
      ['no token', 'GET', '/items', undefined, {}, 'missing_token'],
      ['a token that is not one', 'GET', '/items', undefined, { authorization: 'Bearer not-a-token' }, 'invalid_token'],
      ['a wrong password', 'POST', '/auth/login', { email: 'nobody@example.com', password: 'not the password at all' }, {}, 'invalid_credentials'],
      ['a refresh without a session', 'POST', '/auth/refresh', {}, {}, 'invalid_refresh_token'],
      ['an unknown sign-in challenge', 'POST', '/auth/mfa/verify', { challenge: 'A'.repeat(43), code: '123456' }, {}, 'invalid_challenge'],
    ];
    for (const [what, method, path, body, headers, code] of cases) {
      it(`${what}: ${code}`, async function () {
        const response = await api.request(method, path, { ...(body ? { body } : {}), headers });
        assert.equal(response.status, 401, response.text);
        assert.equal(response.json.error.code, code);
        assert.match(String(response.headers['www-authenticate']), /^Bearer realm="bastion"/);
      });
    }
  });
});
