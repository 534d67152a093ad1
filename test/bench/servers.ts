/**
 * The two servers the benchmark compares, each run in its own process:
 *   bare     — node:http returning an item's JSON, nothing else; and for a POST, the work no
 *              upload pipeline can avoid: POST /raw writes the request's bytes to a file
 *              (flushed, as the disk blob driver does); POST /uploads cuts the file out of the
 *              multipart body, re-encodes it with reencode.ts alone (sharp with the product's
 *              settings, as many decodes at once, none shed) and writes the result the same way
 *   pipeline — the real local server: every stage, the token, the rate limiter's store
 *              transactions (leased; limits set high so none refuses), access logs, uploads to
 *              the local-disk blob driver; `pipeline N` with N items in the collection
 * Prints one JSON line, { url, path, listPath, headers }, on fd 3 when spawn-server.ts started it
 * (else on stdout); the pipeline's logs go to stdout.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { createWriteStream, mkdtempSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueAccessToken } from '../../functions/src/auth/tokens.ts';
import { loadConfig } from '../../functions/src/config/index.ts';
import { createRuntime } from '../../functions/src/runtime.ts';
import { startServer } from '../../functions/src/server.ts';
import type { DocumentStore } from '../../functions/src/store/port.ts';
import { typeByExtension } from '../../functions/src/uploads/file-types.ts';
import { DECODE_QUEUE, reencodeImage, setDecodeQueue } from '../../functions/src/uploads/reencode.ts';
import { createWorkQueue } from '../../functions/src/work-queue.ts';

const item = {
  ownerId: 'bench-user',
  name: 'Desk lamp',
  description: 'Warm light for late work',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const id = 'BenchItem00000000001';

/**
 * `count` more items: 9 of the bench user's own (so a page holds the same 10 whatever the size),
 * the rest spread over a thousand other owners, in the order a busy service would have written them.
 */
async function seedItems(store: DocumentStore, count: number): Promise<void> {
  const own = new Set(Array.from({ length: Math.min(9, count) }, (_, k) => Math.floor((k * count) / Math.min(9, count))));
  const batch = 1000;
  for (let start = 0; start < count; start += batch) {
    await store.runTransaction(async (tx) => {
      for (let i = start; i < Math.min(start + batch, count); i += 1) {
        const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
        const ownerId = own.has(i) ? item.ownerId : `owner-${i % 1000}`;
        tx.set('items', `Seeded${String(i).padStart(14, '0')}`, { ...item, ownerId, name: `Item ${i}`, createdAt: at, updatedAt: at });
      }
    });
  }
}

/** Where the server listens, for spawn-server.ts (fd 3) or whoever ran it by hand (stdout). */
function ready(target: Record<string, unknown>): void {
  const line = `${JSON.stringify(target)}\n`;
  try {
    writeSync(3, line);
  } catch {
    process.stdout.write(line);
  }
}

/** The one file of a multipart body of one part, as the bench sends it: between its headers and the closing boundary. */
function fileOf(body: Buffer): Buffer {
  const start = body.indexOf('\r\n\r\n') + 4;
  const end = body.lastIndexOf('\r\n--');
  return body.subarray(start, end);
}

/** 201 once `work` is done; a failure is a 500 (the bench stops on it), never a request left hanging. */
function answerWhenDone(res: ServerResponse, work: Promise<unknown>): void {
  work.then(
    () => {
      res.writeHead(201, { 'Content-Length': 0 });
      res.end();
    },
    (error: unknown) => {
      console.error(error);
      res.writeHead(500, { 'Content-Length': 0 });
      res.end();
    },
  );
}

const kind = process.argv[2];
if (kind === 'bare') {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-bare-'));
  const { uploads } = await loadConfig({ APP_ENV: 'test' });
  const png = typeByExtension('png')!;
  const witnesses = { extension: 'png', declaredType: png.mime, sniffedType: png.mime };
  // The product's decode queue lets this many run at once; the baseline queues the rest, sheds none.
  setDecodeQueue(createWorkQueue({ concurrency: DECODE_QUEUE.concurrency, maxWaiting: Number.MAX_SAFE_INTEGER }));
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/raw') {
      answerWhenDone(res, pipeline(req, createWriteStream(join(dir, randomUUID()), { flush: true })));
      return;
    }
    if (req.method === 'POST') {
      const stored = buffer(req)
        .then((body) => reencodeImage(fileOf(body), png, { maxPixels: uploads.maxPixels, witnesses }))
        .then((image) => pipeline(Readable.from([image.bytes]), createWriteStream(join(dir, randomUUID()), { flush: true })));
      answerWhenDone(res, stored);
      return;
    }
    const body = JSON.stringify({ id, ...item });
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    ready({ url: `http://127.0.0.1:${port}`, path: `/items/${id}`, headers: {} });
  });
} else if (kind === 'pipeline') {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-'));
  const config = await loadConfig({
    APP_ENV: 'test',
    SQLITE_PATH: join(dir, 'bench.sqlite'),
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000000',
    RATE_LIMIT_API_PER_MINUTE: '1000000000',
    RATE_LIMIT_CREATE_PER_MINUTE: '1000000000',
    UPLOAD_QUOTA_BYTES_PER_USER: String(1024 ** 4),
    BLOB_DIR: join(dir, 'blobs'),
    LOG_LEVEL: 'info',
  });
  const runtime = await createRuntime(config);
  await runtime.store.set('items', id, item);
  await seedItems(runtime.store, Number(process.argv[3] ?? 1) - 1);
  const token = await issueAccessToken(config.auth, { sub: item.ownerId, roles: ['user'], amr: ['pwd'], emailVerified: true });
  const running = await startServer(runtime, 0, '127.0.0.1');
  ready({ url: running.url, path: `/items/${id}`, listPath: '/items?limit=20', headers: { authorization: `Bearer ${token}` } });
} else {
  throw new Error('usage: servers.ts bare | pipeline [items]');
}

// Exit normally on a signal, so diagnostics such as --cpu-prof are written.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
