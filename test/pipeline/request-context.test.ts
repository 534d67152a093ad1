/**
 * Request ids and logs: every request has an id (a well-formed incoming one, a Cloud Trace /
 * W3C trace id, or a fresh UUID), echoed in `X-Request-Id`, in error bodies and on every log
 * line; one structured access line per request, with at most 256 characters of the path;
 * never a token, a query string or a secret in a log.
 */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { createLogger, isoTimestamp, lineWriter, logFormat, REDACTED, type LoggerOptions } from '../../functions/src/logger.ts';
import { startApi, type TestApi } from '../support/api.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('request context', function () {
  let api: TestApi;
  let token: string;

  beforeEach(async function () {
    api = await startApi({ GCLOUD_PROJECT: 'demo-bastion' });
    token = await api.token();
  });

  afterEach(async function () {
    await api.close();
  });

  const accessLines = () => api.logs.filter((entry) => entry.message === 'request');

  describe('request id', function () {
    it('makes a fresh UUID when none is sent, and echoes it', async function () {
      const first = await api.request('GET', '/items', { token });
      const second = await api.request('GET', '/items', { token });
      assert.match(String(first.headers['x-request-id']), UUID);
      assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id']);
    });

    it('keeps a well-formed incoming X-Request-Id, in the header, the error body and the log', async function () {
      const id = 'client-abc.123:retry-2';
      const response = await api.request('GET', '/items', { headers: { 'x-request-id': id } });
      assert.equal(response.headers['x-request-id'], id);
      assert.equal(response.json.error.requestId, id);
      assert.equal(accessLines().at(-1)?.requestId, id);
    });

    it('replaces a malformed one rather than trusting it into logs', async function () {
      for (const id of ['short', 'x'.repeat(129), 'has spaces in it', 'quote"injection"here', '<script>alert(1)</script>']) {
        const response = await api.request('GET', '/items', { token, headers: { 'x-request-id': id } });
        assert.match(String(response.headers['x-request-id']), UUID, id);
        assert.ok(!api.logText().includes(id), id);
      }
    });

    it('uses the Cloud Trace id when there is no X-Request-Id, and links the logs to the trace', async function () {
      const response = await api.request('GET', '/items', { token, headers: { 'x-cloud-trace-context': `${TRACE_ID.toUpperCase()}/1234567;o=1` } });
      assert.equal(response.headers['x-request-id'], TRACE_ID);
      const line = accessLines().at(-1)!;
      assert.equal(line.requestId, TRACE_ID);
      assert.equal(line['logging.googleapis.com/trace'], `projects/demo-bastion/traces/${TRACE_ID}`);
    });

    it('uses the W3C traceparent trace id likewise', async function () {
      const response = await api.request('GET', '/items', { token, headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` } });
      assert.equal(response.headers['x-request-id'], TRACE_ID);
    });

    it('ignores malformed trace headers', async function () {
      const response = await api.request('GET', '/items', { token, headers: { 'x-cloud-trace-context': 'nothex/1', traceparent: 'garbage' } });
      assert.match(String(response.headers['x-request-id']), UUID);
    });
  });

  describe('access log', function () {
    it('writes one structured line per request with what an operator needs', async function () {
      const response = await api.request('GET', '/items?limit=5', { token });
      const lines = accessLines();
      assert.equal(lines.length, 1);
      const line = lines[0]!;
      assert.equal(line.requestId, response.headers['x-request-id']);
      assert.equal(line.method, 'GET');
      assert.equal(line.path, '/items');
      assert.equal(line.route, 'items.list');
      assert.equal(line.status, 200);
      assert.equal(typeof line.durationMs, 'number');
      assert.equal(line.ip, '127.0.0.1');
      assert.equal(line.userId, 'alice');
      assert.equal(line.level, 'info');
      assert.equal(line.severity, 'INFO');
      assert.ok(!Number.isNaN(Date.parse(line.timestamp)));
    });

    it('logs client errors as warnings and server errors as errors', async function () {
      await api.request('GET', '/items');
      assert.equal(accessLines().at(-1)?.severity, 'WARNING');
      await api.store.close();
      await api.request('GET', '/items', { token });
      assert.equal(accessLines().at(-1)?.severity, 'ERROR');
    });

    it('never logs the query string, which can carry secrets', async function () {
      await api.request('GET', '/items?limit=5&cursor=c2VjcmV0LWN1cnNvcg', { token });
      assert.ok(!api.logText().includes('c2VjcmV0LWN1cnNvcg'));
      assert.ok(!api.logText().includes('limit=5'));
    });

    it('never logs a token, valid or not, nor cookies', async function () {
      const forged = `${token.slice(0, -4)}AAAA`;
      await api.request('GET', '/items', { token });
      await api.request('GET', '/items', { token: forged });
      await api.request('GET', '/items', { token, headers: { cookie: '__Host-session=s3cr3t-session-value' } });
      const text = api.logText();
      assert.ok(!text.includes(token));
      assert.ok(!text.includes(forged));
      assert.ok(!text.includes(token.split('.')[2]!), 'not even the signature');
      assert.ok(!text.includes('s3cr3t-session-value'));
    });

    it('keeps at most 256 characters of a long path, with a marker and the full length', async function () {
      // 15 KB: under node's 16 KB header limit, so the request reaches the pipeline (a 404).
      const path = `/items/long/${'a'.repeat(15 * 1024)}`;
      const response = await api.request('GET', path, { token });
      assert.equal(response.status, 404);
      const line = accessLines().at(-1)!;
      assert.equal(line.path, `${path.slice(0, 256)}…[${path.length} chars]`);
      assert.ok(api.logText().length < 2048, `${api.logText().length} characters of log for one request`);
    });

    it('keeps a path of 256 characters whole', async function () {
      const path = `/items/${'b'.repeat(256 - '/items/'.length)}`;
      await api.request('GET', path, { token });
      assert.equal(accessLines().at(-1)?.path, path);
    });

    it('puts the same request id on every line of a request', async function () {
      await api.store.close();
      const response = await api.request('GET', '/items', { token });
      const id = response.headers['x-request-id'];
      const lines = api.logs.filter((entry) => entry.requestId === id);
      assert.deepEqual(lines.map((entry) => entry.message).sort(), ['request', 'request failed']);
    });
  });
});

describe('logger', function () {
  async function logged(write: (logger: winston.Logger) => void, target: LoggerOptions['target'] = 'stdout'): Promise<Record<string, any>[]> {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const logger = await createLogger({ level: 'debug', target, stream });
    write(logger);
    await new Promise((resolve) => setImmediate(resolve));
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    return lines.map((line) => JSON.parse(line) as Record<string, any>);
  }

  const JWT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl';

  it('writes one JSON object per line, with Cloud Logging severity and a timestamp', async function () {
    const lines = await logged((logger) => {
      logger.info('first', { n: 1 });
      logger.warn('second');
    });
    assert.deepEqual(
      lines.map((l) => [l.message, l.severity]),
      [
        ['first', 'INFO'],
        ['second', 'WARNING'],
      ],
    );
    assert.equal(lines[0]!.n, 1);
    assert.ok(!Number.isNaN(Date.parse(lines[0]!.timestamp)));
  });

  it('redacts fields whose names say they hold credentials, at any depth', async function () {
    const [line] = await logged((logger) =>
      logger.info('login', {
        password: 'hunter2hunter2',
        authorization: 'Bearer abc',
        refreshToken: 'r-123',
        user: { email: 'a@example.com', cookie: 'sid=1', apiSecret: 'shh' },
      }),
    );
    assert.equal(line!.password, REDACTED);
    assert.equal(line!.authorization, REDACTED);
    assert.equal(line!.refreshToken, REDACTED);
    assert.equal(line!.user.cookie, REDACTED);
    assert.equal(line!.user.apiSecret, REDACTED);
    assert.equal(line!.user.email, 'a@example.com');
  });

  it('masks anything shaped like a JWT wherever it appears', async function () {
    const [line] = await logged((logger) => logger.info(`saw ${JWT} in a header`, { note: { text: `token=${JWT}` }, list: [JWT] }));
    const text = JSON.stringify(line);
    assert.ok(!text.includes(JWT));
    assert.match(line!.message, /saw \[redacted\] in a header/);
  });

  it('keeps name, message and stack of errors, for the server side only', async function () {
    const [line] = await logged((logger) => logger.error('failed', { err: new TypeError('boom') }));
    assert.equal(line!.err.name, 'TypeError');
    assert.equal(line!.err.message, 'boom');
    assert.match(line!.err.stack, /TypeError: boom\n\s+at /);
  });

  it('formats timestamps as toISOString does, across seconds, days and years', function () {
    const starts = [Date.UTC(2026, 11, 31, 23, 59, 58, 990), Date.UTC(1970, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 500)];
    for (const start of starts) {
      for (let now = start; now < start + 2500; now += 7) assert.equal(isoTimestamp(now), new Date(now).toISOString());
    }
    for (const now of [-1, -1001, Date.UTC(10000, 0, 1), Date.UTC(10000, 0, 1, 0, 0, 1, 5)]) assert.equal(isoTimestamp(now), new Date(now).toISOString());
  });

  describe('the access line writer (lineWriter)', function () {
    // Made afresh for every line, as the pipeline does: the writer may keep the object as the entry.
    const fields = () => ({ requestId: 'req-12345678', method: 'GET', path: '/items/abc', status: 200, token: 'secret', note: `see ${JWT}` });

    it('writes the very line logger.log writes, through the same format and transports', async function () {
      for (const target of ['stdout', 'cloud-logging'] as const) {
        const [viaWinston, direct] = await Promise.all([
          logged((logger) => logger.log('warn', 'request', fields()), target),
          logged((logger) => lineWriter(logger)('warn', 'request', fields()), target),
        ]);
        const withoutTime = ({ timestamp: _timestamp, ...rest }: Record<string, any>) => rest;
        assert.equal(direct.length, 1);
        assert.deepEqual(direct.map(withoutTime), viaWinston.map(withoutTime), target);
        assert.equal(JSON.stringify(direct).includes('secret'), false);
      }
    });

    it("keeps each transport's level, format and silence, and hands any other kind of transport to winston", async function () {
      const seen: Record<string, string[]> = { info: [], warn: [], silent: [], formatted: [], legacy: [] };
      const collect = (name: string, options: ConstructorParameters<typeof TransportStream>[0] = {}) =>
        new (class extends TransportStream {
          override log(info: Record<string | symbol, unknown>, next: () => void) {
            seen[name]!.push(String(info.message) + (typeof info.tag === 'string' ? `:${info.tag}` : ''));
            next();
          }
        })(options);
      const silent = collect('silent');
      silent.silent = true;
      const tagging = winston.format((info) => Object.assign(info, { tag: 'formatted' }))();
      const logger = winston.createLogger({
        level: 'info',
        format: logFormat('stdout'),
        transports: [collect('info'), collect('warn', { level: 'warn' }), silent, collect('formatted', { format: tagging })],
      });
      const write = lineWriter(logger);
      write('info', 'request', { status: 200 });
      write('warn', 'request', { status: 404 });
      write('debug', 'request', { status: 200 });
      assert.deepEqual(seen, { info: ['request', 'request'], warn: ['request'], silent: [], formatted: ['request:formatted', 'request:formatted'], legacy: [] });

      // Any other object-mode stream winston takes (it needs a log method): it gets the line too.
      const lines: string[] = [];
      const other = new Writable({
        objectMode: true,
        write: (info: Record<string, unknown>, _encoding, done) => {
          lines.push(String(info.message));
          done();
        },
      });
      Object.assign(other, { log: (_info: unknown, next: () => void) => next() });
      const mixed = winston.createLogger({ level: 'info', format: logFormat('stdout'), transports: [collect('info'), other] });
      lineWriter(mixed)('info', 'request', { status: 200 });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(lines, ['request']);
    });
  });

  describe("deployed (cloud-logging): Cloud Logging's structured lines on stdout", function () {
    // Google's libraries probe the metadata server unless told there is none.
    const saved = process.env.METADATA_SERVER_DETECTION;
    before(function () {
      process.env.METADATA_SERVER_DETECTION = 'none';
    });
    after(function () {
      if (saved === undefined) Reflect.deleteProperty(process.env, 'METADATA_SERVER_DETECTION');
      else process.env.METADATA_SERVER_DETECTION = saved;
    });

    const error = new TypeError('boom');
    /** Entries with each of Cloud Logging's special fields, and a secret. */
    const entries = (logger: winston.Logger) => {
      logger.info('request', { requestId: 'r-1', 'logging.googleapis.com/trace': `projects/demo/traces/${TRACE_ID}`, method: 'GET', status: 200, durationMs: 1.25 });
      logger.warn('second');
      logger.error('failed', { err: error, password: 'hunter2hunter2', user: { cookie: 'sid=1' } });
      logger.debug('details', {
        labels: { stage: 'test' },
        httpRequest: { status: 204 },
        'logging.googleapis.com/spanId': '000000000000004a',
        'logging.googleapis.com/trace_sampled': true,
      });
    };

    it("puts severity, timestamp and trace at the top, the message, and the entry's fields under metadata, redacted", async function () {
      const [request, second, failed] = await logged(entries, 'cloud-logging');
      assert.equal(request!.severity, 'INFO');
      assert.equal(request!.message, 'request');
      assert.equal(request!['logging.googleapis.com/trace'], `projects/demo/traces/${TRACE_ID}`);
      assert.equal(typeof request!.timestamp.seconds, 'number');
      assert.ok(Math.abs(request!.timestamp.seconds * 1000 - Date.now()) < 60_000);
      assert.equal(request!.metadata.requestId, 'r-1');
      assert.equal(request!.metadata.status, 200);
      assert.equal(request!.metadata['logging.googleapis.com/trace'], undefined);
      assert.equal(second!.severity, 'WARNING');
      assert.equal(failed!.severity, 'ERROR');
      assert.equal(failed!.metadata.err.message, 'boom');
      assert.equal(failed!.metadata.password, REDACTED);
      assert.equal(failed!.metadata.user.cookie, REDACTED);
    });

    it('writes what @google-cloud/logging-winston writes with redirectToStdout (but its insertId, logName and first-line diagnostic entry)', async function () {
      this.timeout(20_000);
      const ours = await logged(entries, 'cloud-logging');

      const { LoggingWinston } = await import('@google-cloud/logging-winston');
      // Told the project, and (in the hooks above) that there is no metadata server, it asks nothing beyond loopback.
      const transport = new LoggingWinston({ redirectToStdout: true, useMessageField: false, projectId: 'demo' });
      const written: string[] = [];
      // Its LogSync writes each line to process.stdout unless given another writable.
      (transport as unknown as { common: { cloudLog: { transport: { write(line: string): void } } } }).common.cloudLog.transport = { write: (line) => written.push(line) };
      const logger = winston.createLogger({ level: 'debug', format: logFormat('stdout'), transports: [transport] });
      entries(logger);
      await new Promise((resolve) => setImmediate(resolve));
      const theirs = written.map((line) => JSON.parse(line) as Record<string, any>).filter((line) => !('logging.googleapis.com/diagnostic' in line));

      const comparable = (line: Record<string, any>) => {
        const { timestamp, 'logging.googleapis.com/insertId': _insertId, logName: _logName, ...rest } = line;
        assert.deepEqual(Object.keys(timestamp).sort(), ['nanos', 'seconds']);
        return rest;
      };
      assert.equal(ours.length, 4);
      assert.deepEqual(ours.map(comparable), theirs.map(comparable));
    });
  });
});
