/**
 * The local server's own guard of its sockets, over raw connections: a connection that sends
 * nothing, or its headers too slowly, or its body too slowly, is answered 408 and closed close
 * to the timeout set (not up to 30 s later, node's default check interval); an idle keep-alive
 * connection is closed after its timeout; connections beyond the cap are closed as they come;
 * and whatever node refuses before the pipeline (400, 408, 413, 417, 431) is answered as the
 * API answers: a JSON error with a request id, the security headers, `Connection: close`.
 */
import assert from 'node:assert/strict';
import { startServer, type ServerOptions } from '../../functions/src/server.ts';
import { API_SECURITY_HEADERS as SECURITY_HEADERS } from '../support/api.ts';
import { openRaw, parseResponse, startLocalServer, type LocalServer, type RawResponse } from './support.ts';

function assertHouseError(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, response.body);
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(response.headers.connection, 'close');
  assert.equal(response.json?.error?.code, code, response.body);
  assert.equal(typeof response.json.error.message, 'string');
  assert.match(response.json.error.requestId, /^[0-9a-f-]{36}$/);
  assert.equal(response.headers['x-request-id'], response.json.error.requestId);
  assert.deepEqual(Object.keys(response.json), ['error']);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(response.headers[name], value, name);
}

describe('the local server guards its sockets', function () {
  let server: LocalServer | undefined;

  afterEach(async function () {
    await server?.close();
    server = undefined;
  });

  describe('timeouts', function () {
    const HEADERS_TIMEOUT = 500;

    it('answers a connection that sends nothing with 408 and closes it at about the headers timeout', async function () {
      server = await startLocalServer({ headersTimeoutMs: HEADERS_TIMEOUT });
      const connection = await openRaw(server.port);
      const closedAfter = await connection.closed();
      assert.ok(closedAfter !== undefined, 'still open after 5 s');
      // Generous: node checks on an interval (a tenth of the timeout here), the machine may be busy.
      assert.ok(closedAfter >= HEADERS_TIMEOUT * 0.9 && closedAfter < HEADERS_TIMEOUT * 4, `closed after ${Math.round(closedAfter)} ms`);
      assertHouseError(parseResponse(connection.received()), 408, 'request_timeout');
    });

    it('does the same to headers that stop halfway', async function () {
      server = await startLocalServer({ headersTimeoutMs: HEADERS_TIMEOUT });
      const connection = await openRaw(server.port);
      connection.socket.write('GET /items HTTP/1.1\r\nHost: localhost\r\n');
      const closedAfter = await connection.closed();
      assert.ok(closedAfter !== undefined && closedAfter < HEADERS_TIMEOUT * 4, `closed after ${closedAfter} ms`);
      assertHouseError(parseResponse(connection.received()), 408, 'request_timeout');
    });

    it('answers a body that arrives too slowly with 408 at about the request timeout', async function () {
      const REQUEST_TIMEOUT = 1_000;
      server = await startLocalServer({ headersTimeoutMs: HEADERS_TIMEOUT, requestTimeoutMs: REQUEST_TIMEOUT });
      const connection = await openRaw(server.port);
      const token = await server.token();
      connection.socket.write(`POST /items HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`);
      const closedAfter = await connection.closed();
      assert.ok(closedAfter !== undefined, 'still open after 5 s');
      assert.ok(closedAfter >= REQUEST_TIMEOUT * 0.9 && closedAfter < REQUEST_TIMEOUT * 3, `closed after ${Math.round(closedAfter)} ms`);
      assertHouseError(parseResponse(connection.received()), 408, 'request_timeout');
    });

    it('closes a keep-alive connection left idle after an answer, after its keep-alive timeout', async function () {
      const KEEP_ALIVE = 300;
      server = await startLocalServer({ keepAliveTimeoutMs: KEEP_ALIVE });
      const connection = await openRaw(server.port);
      connection.socket.write('GET /auth/.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await connection.receivedMatch(/\r\n\r\n\{"keys"/);
      const answeredAt = performance.now() - connection.connectedAt;
      assert.equal(parseResponse(connection.received()).headers.connection, 'keep-alive');
      const closedAfter = await connection.closed();
      assert.ok(closedAfter !== undefined, 'still open after 5 s');
      // node adds a second of slack to the advertised timeout.
      assert.ok(closedAfter - answeredAt < KEEP_ALIVE + 1_000 + 1_500, `closed ${Math.round(closedAfter - answeredAt)} ms after the answer`);
    });
  });

  describe("node's own refusals, in the API's shape", function () {
    beforeEach(async function () {
      server = await startLocalServer();
    });

    async function answerTo(bytes: string): Promise<RawResponse> {
      const connection = await openRaw(server!.port);
      connection.socket.write(bytes);
      assert.notEqual(await connection.closed(), undefined, 'the connection is closed after the answer');
      return parseResponse(connection.received());
    }

    it('431 headers_too_large for headers over 16 KB', async function () {
      assertHouseError(await answerTo(`GET /items HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'headers_too_large');
    });

    it('400 bad_request for what is not HTTP', async function () {
      assertHouseError(await answerTo('HELLO THERE\r\n\r\n'), 400, 'bad_request');
    });

    it('400 bad_request for an HTTP/1.1 request without Host', async function () {
      assertHouseError(await answerTo('GET /items HTTP/1.1\r\n\r\n'), 400, 'bad_request');
    });

    it('417 expectation_failed for an Expect other than 100-continue', async function () {
      assertHouseError(await answerTo('GET /items HTTP/1.1\r\nHost: localhost\r\nExpect: tea\r\n\r\n'), 417, 'expectation_failed');
    });

    it('413 payload_too_large for a chunk extension over 16 KB', async function () {
      const token = await server!.token();
      const head = `POST /items HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
      assertHouseError(await answerTo(`${head}2;ext=${'x'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`), 413, 'payload_too_large');
    });

    it('logs each refusal with its request id', async function () {
      const response = await answerTo('HELLO THERE\r\n\r\n');
      const id = response.json.error.requestId;
      for (const deadline = Date.now() + 2_000; !server!.logs().some((line) => line.requestId === id) && Date.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const line = server!.logs().find((entry) => entry.requestId === id);
      assert.equal(line?.status, 400);
      assert.equal(line?.level, 'warn');
    });
  });

  describe('connection cap', function () {
    it('closes connections beyond maxConnections as they arrive, and keeps serving the others', async function () {
      server = await startLocalServer({ maxConnections: 2 });
      const first = await openRaw(server.port);
      const second = await openRaw(server.port);
      // Evidence, not a pause: the server has accepted both.
      for (let count = 0; count < 2;) {
        count = await new Promise<number>((resolve, reject) => server!.running.server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
      }
      const third = await openRaw(server.port);
      assert.notEqual(await third.closed(2_000), undefined, 'the third connection is closed');
      assert.equal(third.received(), '');
      first.socket.write('GET /auth/.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await first.receivedMatch(/\{"keys"/);
      assert.equal(parseResponse(first.received()).status, 200);
      second.socket.destroy();
      first.socket.destroy();
    });
  });

  describe('options', function () {
    it('refuses an option it does not know, and values that are not positive integers', async function () {
      server = await startLocalServer();
      const start = (options: ServerOptions) => startServer(server!.runtime, 0, '127.0.0.1', options);
      await assert.rejects(() => start({ headerTimeoutMs: 5 } as ServerOptions), /unknown option headerTimeoutMs/);
      await assert.rejects(() => start({ maxConnections: 0 }), /maxConnections must be a positive integer/);
      await assert.rejects(() => start({ keepAliveTimeoutMs: 1.5 }), /keepAliveTimeoutMs must be a positive integer/);
      await assert.rejects(() => start({ headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 }), /must not exceed/);
    });
  });
});
