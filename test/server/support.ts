/**
 * For the specs of the local server's own socket handling: the real server, started in-process
 * with the server options a spec chooses (short timeouts), and raw exchanges over node:net, so
 * a spec sees exactly the bytes and the moment the server closes a connection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { issueAccessToken } from '../../functions/src/auth/tokens.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { createRuntime, type Runtime } from '../../functions/src/runtime.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../functions/src/server.ts';
import { ALLOWED_ORIGIN, testSigningKeys } from '../support/api.ts';
import { memoryStore } from '../support/stores.ts';

export interface LocalServer {
  port: number;
  running: RunningServer;
  runtime: Runtime;
  logs(): Record<string, any>[];
  token(): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalServer(options: ServerOptions = {}): Promise<LocalServer> {
  const blobDir = await mkdtemp(join(tmpdir(), 'bastion-sockets-'));
  const config = await loadConfig({
    APP_ENV: 'test',
    CORS_ORIGINS: ALLOWED_ORIGIN,
    AUTH_ISSUER: 'https://bastion.test',
    AUTH_AUDIENCE: 'bastion-test-api',
    AUTH_SIGNING_KEYS: await testSigningKeys(),
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    RATE_LIMIT_CREATE_PER_MINUTE: '100000',
    BLOB_DIR: blobDir,
  });
  const logStream = new PassThrough();
  const lines: string[] = [];
  logStream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const runtime = await createRuntime(config, { logStream, store: memoryStore() });
  const running = await startServer(runtime, 0, '127.0.0.1', options);
  return {
    port: Number(new URL(running.url).port),
    running,
    runtime,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, any>),
    token: () => issueAccessToken(config.auth, { sub: 'alice', roles: ['user'], amr: ['pwd'], emailVerified: true }),
    async close() {
      await running.close();
      await runtime.close();
      await rm(blobDir, { recursive: true, force: true });
    },
  };
}

/** A raw connection that records everything it receives and when the server closed it. */
export interface RawConnection {
  socket: Socket;
  connectedAt: number;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the time since connecting at which the connection closed, or undefined if it is still open after `withinMs`. */
  closed(withinMs?: number): Promise<number | undefined>;
  /** Resolves once `pattern` has been received (or rejects when the connection closes first). */
  receivedMatch(pattern: RegExp): Promise<void>;
}

export function openRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let closedAt: number | undefined;
    const waiters = new Set<() => void>();
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      for (const wake of waiters) wake();
    });
    socket.on('error', () => {}); // a reset is a close like any other here
    socket.on('close', () => {
      closedAt = performance.now();
      for (const wake of waiters) wake();
    });
    socket.once('connect', () => {
      const connectedAt = performance.now();
      resolve({
        socket,
        connectedAt,
        received: () => text,
        closed: (withinMs = 5_000) =>
          new Promise((done) => {
            if (closedAt !== undefined) return done(closedAt - connectedAt);
            const timer = setTimeout(() => {
              waiters.delete(wake);
              done(undefined);
            }, withinMs);
            const wake = () => {
              if (closedAt === undefined) return;
              clearTimeout(timer);
              waiters.delete(wake);
              done(closedAt - connectedAt);
            };
            waiters.add(wake);
          }),
        receivedMatch: (pattern) =>
          new Promise((done, fail) => {
            const wake = () => {
              if (pattern.test(text)) {
                waiters.delete(wake);
                done();
              } else if (closedAt !== undefined) {
                waiters.delete(wake);
                fail(new Error(`closed before ${pattern} arrived; got ${JSON.stringify(text.slice(0, 300))}`));
              }
            };
            waiters.add(wake);
            wake();
          }),
      });
    });
    socket.once('error', reject);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

/** The first HTTP response in `text` (a 100 Continue before it is skipped). */
export function parseResponse(text: string): RawResponse {
  let rest = text;
  while (/^HTTP\/1\.1 1\d\d /.test(rest)) rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
  const end = rest.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response in ${JSON.stringify(text.slice(0, 300))}`);
  const [statusLine, ...headerLines] = rest.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = rest.slice(end + 4, end + 4 + length);
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body, json };
}
