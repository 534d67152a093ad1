/**
 * `npm start`: every function on one local port, under /auth, /items and /uploads, on the
 * embedded store by default. Cloud Functions does not use this file (see index.ts).
 *
 * The server guards its own sockets, since nothing stands in front of it: a connection must
 * send its headers in time (one that sends nothing is closed too), idle keep-alive connections
 * are closed, the timeouts are checked often enough to act close to their settings, and the
 * number of connections is capped. What node refuses before the pipeline sees it (400, 408,
 * 413, 417, 431) is answered in the API's own shape, with its security headers.
 *
 * SIGTERM and SIGINT drain: no new connections, the requests in flight finish (each answered
 * with `Connection: close`), then the stores close; past SHUTDOWN_GRACE_SECONDS whatever is
 * left is cut. `npm start` execs this process (package.json), so npm's signal reaches it.
 */
// First: sizes libuv's thread pool before anything starts it.
import './thread-pool.ts';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createLocalHandler } from './app.ts';
import { ConfigError } from './config/index.ts';
import { ApiError } from './errors/api-error.ts';
import { errorBody } from './pipeline/error-mapper.ts';
import { sendJson } from './pipeline/respond.ts';
import { recordHelmetHeaders } from './pipeline/security-headers.ts';
import { getRuntime, type Runtime } from './runtime.ts';
import { startMailRetries } from './mail/retries.ts';
import { startReconciler } from './uploads/reconcile.ts';

/**
 * Where the local server listens. Only this server reads PORT and HOST: the Functions
 * emulator and Cloud Functions set PORT for their own host process (a socket path, in the
 * emulator), which is none of the functions' business.
 */
const listenSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
});

export function listenAddress(env: NodeJS.ProcessEnv = process.env): { port: number; host: string } {
  const parsed = listenSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return { port: parsed.data.PORT, host: parsed.data.HOST };
}

/** How long a shutdown waits for the requests in flight (SHUTDOWN_GRACE_SECONDS, default 10). */
export function shutdownGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = z.object({ SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(10) }).safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return Math.round(parsed.data.SHUTDOWN_GRACE_SECONDS * 1000);
}

export interface ServerOptions {
  /** A request's headers must have arrived this long after it began (or after connecting): else 408, closed. */
  headersTimeoutMs?: number;
  /** A whole request, body included, must have arrived this long after it began: else 408, closed. */
  requestTimeoutMs?: number;
  /** A keep-alive connection with nothing in flight is closed after this (node adds a second of slack). */
  keepAliveTimeoutMs?: number;
  /** How often node checks the two timeouts above, so how late they may act (default: a tenth of the headers timeout, at most 1 s). */
  timeoutCheckIntervalMs?: number;
  /** Connections beyond this many are closed as they arrive. */
  maxConnections?: number;
}

const DEFAULTS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1_000 };

function settingsOf(options: ServerOptions): Required<ServerOptions> {
  for (const [name, value] of Object.entries(options)) {
    if (!(name in DEFAULTS) && name !== 'timeoutCheckIntervalMs') throw new TypeError(`startServer: unknown option ${name}`);
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw new TypeError(`startServer: ${name} must be a positive integer`);
  }
  const settings = { ...DEFAULTS, ...stripUndefined(options) };
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) throw new TypeError('startServer: headersTimeoutMs must not exceed requestTimeoutMs');
  return { timeoutCheckIntervalMs: Math.max(Math.min(1_000, Math.ceil(settings.headersTimeoutMs / 10)), 10), ...settings };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/** What node's parser refuses, by its error code, in the API's terms; anything else it refuses is a 400. */
const CLIENT_ERRORS: Record<string, ApiError> = {
  HPE_HEADER_OVERFLOW: new ApiError('headers_too_large'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: new ApiError('payload_too_large', { params: { reason: 'a chunk extension is too long' } }),
  ERR_HTTP_REQUEST_TIMEOUT: new ApiError('request_timeout'),
};
const BAD_REQUEST = new ApiError('bad_request', { params: { reason: 'it could not be parsed' } });
/** What node would otherwise answer itself, bare, on a request it did parse. */
const MISSING_HOST = new ApiError('bad_request', { params: { reason: 'an HTTP/1.1 request needs a Host header' } });
const EXPECTATION_FAILED = new ApiError('expectation_failed');

/** A whole HTTP/1.1 error response, as bytes for a socket no ServerResponse owns. */
function rawErrorResponse(answer: ApiError, requestId: string, headers: readonly [string, string][]): string {
  const body = JSON.stringify(errorBody(answer.code, answer.message, requestId));
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  lines.push(`X-Request-Id: ${requestId}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface ShutdownOptions {
  /** How long the requests in flight may take to finish; then every connection left is cut. */
  deadlineMs?: number;
  /** Aborting it cuts at once, as if the deadline had passed (a second Ctrl-C). */
  signal?: AbortSignal;
}

export interface ShutdownResult {
  /** Connections still open when the deadline passed, cut. */
  cut: number;
  /** Requests whose handling had not settled by then. */
  unfinished: number;
}

export interface RunningServer {
  url: string;
  server: Server;
  /** Stops at once, cutting every connection. */
  close(): Promise<void>;
  /**
   * Stops gracefully: no new connections; connections with nothing in flight closed at once;
   * requests in flight finish, answered with `Connection: close`. Does not close the runtime.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownResult>;
}

/**
 * What the server keeps of each connection, on the socket itself (set once when it connects, so
 * a request costs no Map or WeakMap entry): its latest response (whose request is `res.req`),
 * and how much it had read when it last had nothing in flight.
 */
const CONNECTION = Symbol('connection');
interface ConnectionState {
  latest: ServerResponse | undefined;
  readWhenIdle: number;
}
type TrackedSocket = Socket & { [CONNECTION]?: ConnectionState };
/** The connection a response was answered on, kept for its 'close' listener (node may have let go of it by then). */
const SOCKET = Symbol('socket');
type TrackedResponse = ServerResponse & { [SOCKET]?: TrackedSocket };

export async function startServer(runtime: Runtime, port: number, host: string, options: ServerOptions = {}): Promise<RunningServer> {
  const settings = settingsOf(options);
  const handle = createLocalHandler(runtime);
  const securityHeaders = recordHelmetHeaders('api');

  const sockets = new Set<TrackedSocket>();
  /** How many handlers have not yet settled. */
  let handlersInFlight = 0;
  let draining = false;
  let onSettled: (() => void) | undefined;
  const settled = () => {
    if (onSettled && sockets.size === 0 && handlersInFlight === 0) onSettled();
  };

  /** Nothing in flight on it and nothing arrived since: safe to close while draining. */
  const closeIfIdle = (socket: TrackedSocket) => {
    const connection = socket[CONNECTION];
    if (connection?.latest?.writableFinished === false) return;
    if (socket.bytesRead === (connection?.readWhenIdle ?? 0)) socket.destroy();
  };

  /** An answer given before the pipeline, in its shape and with its headers; the connection then closes. */
  const refuse = (res: ServerResponse, answer: ApiError) => {
    const requestId = randomUUID();
    runtime.logger.warn('client error', { requestId, status: answer.status, reason: answer.code, ip: res.socket?.remoteAddress });
    sendJson(res, answer.status, errorBody(answer.code, answer.message, requestId), {
      ...Object.fromEntries(securityHeaders),
      'X-Request-Id': requestId,
      Connection: 'close',
    });
  };

  // One listener for every response (`this` is the response), not closures made per request.
  // node emits 'close' once per response, a tick after 'finish' when it was answered (nothing is
  // read from the socket in between), or when the connection went away first.
  function onClose(this: TrackedResponse) {
    if (!this.writableFinished) return;
    const socket = this[SOCKET]!;
    const connection = socket[CONNECTION];
    if (connection) connection.readWhenIdle = socket.bytesRead;
    if (draining) setImmediate(() => closeIfIdle(socket));
  }
  const onHandled = () => {
    handlersInFlight -= 1;
    settled();
  };

  const onRequest = (req: IncomingMessage, res: TrackedResponse) => {
    const socket = req.socket as TrackedSocket;
    res[SOCKET] = socket;
    const connection = socket[CONNECTION];
    if (connection) connection.latest = res;
    if (draining) res.setHeader('Connection', 'close');
    res.on('close', onClose);
    // RFC 9112: an HTTP/1.1 request without Host is a 400 (node's own would be bare: requireHostHeader is off).
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      refuse(res, MISSING_HOST);
      return;
    }
    handlersInFlight += 1;
    // A rejection (the handler answers every failure itself) still reaches the process as unhandled.
    void handle(req, res).then(onHandled, (error: unknown) => {
      onHandled();
      throw error;
    });
  };

  const server = createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // node checks both timeouts on this interval (30 s by default), so they act up to that late.
      connectionsCheckingInterval: settings.timeoutCheckIntervalMs,
      requireHostHeader: false,
    },
    onRequest,
  );
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => refuse(res, EXPECTATION_FAILED));
  server.maxConnections = settings.maxConnections;

  server.on('connection', (socket: TrackedSocket) => {
    socket[CONNECTION] = { latest: undefined, readWhenIdle: 0 };
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      settled();
    });
  });

  const answered = new WeakSet<Socket>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (answered.has(socket)) return;
    answered.add(socket);
    // The error is about the latest request while its body is still coming, else about a new one.
    // Either way, answer only if that answer would not follow (or cut into) a response to it.
    const current = (socket as TrackedSocket)[CONNECTION]?.latest;
    const mayAnswer = !current || (current.req.complete ? current.writableFinished : !current.headersSent);
    if (error.code === 'ECONNRESET' || !socket.writable || !mayAnswer) {
      socket.destroy();
      return;
    }
    const answer = CLIENT_ERRORS[error.code ?? ''] ?? BAD_REQUEST;
    const requestId = randomUUID();
    runtime.logger.warn('client error', { requestId, status: answer.status, reason: error.code, ip: socket.remoteAddress });
    socket.end(rawErrorResponse(answer, requestId, securityHeaders), () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));

  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    close: async () => {
      const closed = stopListening();
      server.closeAllConnections();
      await closed;
    },
    async shutdown({ deadlineMs = 10_000, signal } = {}) {
      draining = true;
      // The latest response of each connection: once it is answered the connection closes (any
      // pipelined before it are answered first, in order).
      for (const socket of sockets) {
        const latest = socket[CONNECTION]?.latest;
        if (latest && !latest.headersSent) latest.setHeader('Connection', 'close');
      }
      void stopListening(); // refuses new connections; node closes its idle keep-alive ones
      for (const socket of sockets) closeIfIdle(socket); // and the ones that never sent anything
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        onSettled = resolve;
        timer = setTimeout(resolve, deadlineMs);
        onAbort = resolve;
        signal?.addEventListener('abort', onAbort, { once: true });
        if (signal?.aborted) resolve();
        settled();
      });
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      onSettled = undefined;
      const result = { cut: sockets.size, unfinished: handlersInFlight };
      for (const socket of sockets) socket.destroy();
      return result;
    },
  };
}

async function main(): Promise<void> {
  let runtime: Runtime;
  let address: { port: number; host: string };
  let graceMs: number;
  try {
    address = listenAddress();
    graceMs = shutdownGraceMs();
    runtime = await getRuntime();
  } catch (error) {
    if (error instanceof ConfigError || ['ERR_SIGNING_KEYS', 'ERR_TOTP_KEYS'].includes((error as { code?: string }).code ?? '')) {
      process.stderr.write(`bastion: ${(error as Error).message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const running = await startServer(runtime, address.port, address.host);
  // Blobs a crash left without a document: removed once past their grace, now and hourly.
  const reconciler = startReconciler({ store: runtime.store, blobs: runtime.blobs, logger: runtime.logger });
  // Mail a server would not take at once: retried now and every minute.
  const mailRetries = startMailRetries(() => runtime.mailer(), runtime.logger);
  const { config } = runtime;
  runtime.logger.info('listening', { url: running.url, pid: process.pid, store: config.store.driver, env: config.env });
  process.stdout.write(`\nbastion is listening on ${running.url}  (store: ${config.store.driver}, ${config.env})\n`);
  process.stdout.write(`  web app:  ${running.url}/   ·   API contract: ${running.url}/openapi.json\n`);
  process.stdout.write(`  try: curl -i ${running.url}/items -H "Authorization: Bearer $(npm run -s token -- --sub alice --roles user)"\n\n`);

  const now = new AbortController();
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal (Ctrl-C twice): stop waiting.
      now.abort();
      return;
    }
    stopping = true;
    runtime.logger.info('shutting down', { signal, graceMs });
    // Should closing the stores hang, the process still ends.
    setTimeout(() => process.exit(1), graceMs + 5_000).unref();
    const { cut, unfinished } = await running.shutdown({ deadlineMs: graceMs, signal: now.signal });
    if (cut > 0 || unfinished > 0) runtime.logger.warn('shutdown cut requests still in flight', { cut, unfinished, graceMs });
    await Promise.all([reconciler.stop(), mailRetries.stop()]);
    await runtime.close();
    process.exit(0);
  };
  // stop() catches nothing: a failure while closing ends the process loudly, as an unhandled rejection should.
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
