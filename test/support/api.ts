/**
 * Test harness: the real local server (every function, the whole pipeline) on an ephemeral
 * port, over real HTTP, with an in-memory SQLite store, blobs in a fresh temporary folder and
 * log lines captured for assertions. With the emulators configured, the store and the blobs are
 * Firestore's and Cloud Storage's instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { PassThrough } from 'node:stream';
import { issueAccessToken, type IssueOptions } from '../../functions/src/auth/tokens.ts';
import { loadConfig, type Role } from '../../functions/src/config/index.ts';
import { generateSigningKey } from '../../functions/src/config/signing-keys.ts';
import { startServer, type RunningServer } from '../../functions/src/server.ts';
import { createRuntime, type Runtime } from '../../functions/src/runtime.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';
import { memoryStore } from './stores.ts';

export const ALLOWED_ORIGIN = 'https://app.example.com';

/** Written by hand, not read from the code: the security headers every API answer carries. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'private, no-store',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as it came. */
  bytes: Buffer;
  text: string;
  /** Parsed JSON body, when there is one. */
  json: any;
}

export interface RequestOptions {
  token?: string;
  /** Serialized as JSON with Content-Type application/json, unless `raw` is given. */
  body?: unknown;
  /** Sent as is, with whatever headers you give. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TokenOptions extends Partial<IssueOptions> {
  sub?: string;
  roles?: Role[];
  mfa?: boolean;
}

export interface TestApi {
  url: string;
  /** The node HTTP server, for specs that watch its connections. */
  server: Server;
  runtime: Runtime;
  store: DocumentStore;
  blobs: BlobStore;
  /** The disk driver's folder, when the blobs are on local disk (not the storage emulator's). */
  blobDir: string | undefined;
  /** The outbox driver's folder: every mail the API sent, as .eml files (test/support/outbox.ts reads them). */
  outbox: string;
  /** Every log line written so far, parsed. */
  logs: Record<string, any>[];
  /** Every log line written so far, as text. */
  logText(): string;
  token(options?: TokenOptions): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

/** Generous limits unless a test is about rate limiting. */
const TEST_ENV: Record<string, string> = {
  APP_ENV: 'test',
  CORS_ORIGINS: ALLOWED_ORIGIN,
  AUTH_ISSUER: 'https://bastion.test',
  AUTH_AUDIENCE: 'bastion-test-api',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
  RATE_LIMIT_API_PER_MINUTE: '100000',
  RATE_LIMIT_CREATE_PER_MINUTE: '100000',
  LOG_LEVEL: 'debug',
};

/** A signing-key set with a current and a previous key, as after a rotation. */
export async function testSigningKeys(): Promise<string> {
  const current = await generateSigningKey('current-');
  const previous = await generateSigningKey('previous-');
  return JSON.stringify({ keys: [current, previous] });
}

/**
 * In memory (SQLite); or, when FIRESTORE_EMULATOR_HOST is set, the Firestore emulator over
 * REST (production's transport), in a project of its own so every test API starts from an
 * empty database. A test that needs another store (another emulator, a shorter deadline) passes
 * its own as `store`.
 */
async function defaultStore(): Promise<DocumentStore> {
  if (!process.env.FIRESTORE_EMULATOR_HOST) return memoryStore();
  const { openFirestoreStore } = await import('../../functions/src/store/firestore.ts');
  return openFirestoreStore({ projectId: `demo-test-${randomUUID().slice(0, 8)}`, deadlineMs: EMULATOR_DEADLINE_MS });
}

/**
 * The emulator settles contention (concurrent writers of one document, as in the quota and
 * last-admin races) by lock timeouts of 2 s, which the default deadline of 5 s does not always
 * outlast. These specs are about what the API answers; deadlines have their own spec
 * (test/store/firestore-faults.test.ts).
 */
const EMULATOR_DEADLINE_MS = 20_000;

/** On local disk (startApi's own folder); or, when STORAGE_EMULATOR_HOST is set, in a bucket of its own on the emulator. */
async function defaultBlobs(): Promise<BlobStore | undefined> {
  if (!process.env.STORAGE_EMULATOR_HOST) return undefined;
  const { openCloudStorageBlobStore } = await import('../../functions/src/blobs/cloud-storage.ts');
  return openCloudStorageBlobStore({ bucket: `demo-test-${randomUUID().slice(0, 8)}`, projectId: process.env.GCLOUD_PROJECT ?? 'demo-bastion' });
}

export interface StartOptions {
  /** Instead of the default store; startApi closes it with the API. */
  store?: DocumentStore;
  blobs?: BlobStore;
  /** The folder of `blobs`, when it is a disk driver, for specs that read it (startApi does not remove it). */
  blobDir?: string;
}

/** What startApi and injectApi (inject.ts) share: everything but the way requests arrive. */
export interface PreparedApi {
  runtime: Runtime;
  /** Every log line written so far, as text. */
  lines: string[];
  /** The API without its transport (`request`, `close`, and for startApi `url` and `server`). */
  base: Omit<TestApi, 'url' | 'server' | 'request' | 'close'>;
  /** After the transport has stopped: closes the runtime (store, blobs, workers) and removes the blob folder. */
  dispose(): Promise<void>;
}

export async function prepareApi(env: Record<string, string> = {}, options: StartOptions = {}): Promise<PreparedApi> {
  const blobDir = await mkdtemp(join(tmpdir(), 'bastion-blobs-'));
  const outboxDir = await mkdtemp(join(tmpdir(), 'bastion-outbox-'));
  const config = await loadConfig({ ...TEST_ENV, BLOB_DIR: blobDir, MAIL_OUTBOX_DIR: outboxDir, AUTH_SIGNING_KEYS: await testSigningKeys(), ...env });
  const logStream = new PassThrough();
  const lines: string[] = [];
  logStream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const store = options.store ?? (await defaultStore());
  const blobs = options.blobs ?? (await defaultBlobs());
  const runtime = await createRuntime(config, { logStream, store, ...(blobs ? { blobs } : {}) });
  return {
    runtime,
    lines,
    base: {
      runtime,
      store,
      blobs: runtime.blobs,
      blobDir: options.blobs ? options.blobDir : blobs ? undefined : blobDir,
      get logs() {
        return lines.map((line) => JSON.parse(line) as Record<string, any>);
      },
      logText: () => lines.join('\n'),
      token: ({ sub = 'alice', roles = ['user'] as Role[], mfa = false, emailVerified = true, ...rest } = {}) =>
        issueAccessToken(config.auth, { sub, roles, amr: mfa ? ['pwd', 'mfa'] : ['pwd'], emailVerified, ...rest }),
      outbox: outboxDir,
    },
    async dispose() {
      await runtime.close();
      await rm(blobDir, { recursive: true, force: true });
      await rm(outboxDir, { recursive: true, force: true });
    },
  };
}

/**
 * Log lines are written in batches, and the access line only once the response is out: waits
 * for the response's, so a test that reads the logs next sees every line of this request.
 */
export async function untilLogged(lines: readonly string[], response: Response): Promise<Response> {
  const id = response.headers['x-request-id'];
  if (typeof id === 'string') {
    const accessLine = (line: string) => line.includes('"message":"request"') && line.includes(`"requestId":${JSON.stringify(id)}`);
    for (const deadline = Date.now() + 2000; !lines.some(accessLine) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  return response;
}

/** The body and headers `options` describe, as sent: JSON serialized, Content-Length and Authorization set. */
export function outgoing(options: RequestOptions = {}): { headers: Record<string, string>; payload: string | Buffer | undefined } {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Buffer | undefined = options.raw;
  if (payload === undefined && options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (payload !== undefined) headers['content-length'] ??= String(Buffer.byteLength(payload));
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return { headers, payload };
}

/** `transport` with every property of `base`, its getters (`logs`) kept as getters. */
export function withBase<T extends object, B extends object>(transport: T, base: B): T & B {
  return Object.defineProperties(transport, Object.getOwnPropertyDescriptors(base)) as T & B;
}

export async function startApi(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestApi> {
  const prepared = await prepareApi(env, options);
  const server: RunningServer = await startServer(prepared.runtime, 0, '127.0.0.1');
  const transport: Pick<TestApi, 'url' | 'server' | 'request' | 'close'> = {
    url: server.url,
    server: server.server,
    request: async (method, path, requestOptions) => untilLogged(prepared.lines, await send(server.url, method, path, requestOptions)),
    async close() {
      await server.close();
      await prepared.dispose();
    },
  };
  return withBase(transport, prepared.base);
}

export function send(base: string, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const { headers, payload } = outgoing(options);
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, base), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
