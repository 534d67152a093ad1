/**
 * One cold start of one deployed function, in this fresh process (`node test/bench/cold-start.ts
 * <function>`; run.ts starts one per sample, with the environment of a deployed instance: the
 * Firestore driver, Cloud Logging, Cloud Storage, and no network). It imports the compiled entry
 * (functions/lib/index.js) and hands the exported function its first request, as the platform
 * does; the function loads its pipeline, routes, runtime (config, Firestore driver, Cloud Logging
 * transport) and then starts the request: the moment it first reads the request after
 * `res.removeHeader` (which index.ts calls before loading) is when the handler is ready. The
 * request is never finished (the store is a closed port): the process reports and exits.
 * Prints one JSON line: { entryMs, readyMs }, both from the start of this module's own work.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

const name = process.argv[2] as 'auth' | 'items' | 'uploads';
const path = name === 'auth' ? '/auth/.well-known/jwks.json' : `/${name}`;

const started = performance.now();
const exported = (await import(new URL('../../functions/lib/index.js', import.meta.url).href)) as Record<string, (req: IncomingMessage, res: ServerResponse) => unknown>;
const entryMs = performance.now() - started;

const req = new IncomingMessage(new Socket());
Object.assign(req, { method: 'GET', url: path, rawBody: Buffer.alloc(0) });
const headers = { host: 'bench.invalid', 'x-forwarded-for': '203.0.113.7' };
const res = new ServerResponse(req);

let loading = false;
const removeHeader = res.removeHeader.bind(res);
res.removeHeader = (header: string) => {
  loading = true; // index.ts's lazily(): the function's code loads next
  removeHeader(header);
};
Object.defineProperty(req, 'headers', {
  get() {
    if (loading) {
      process.stdout.write(`${JSON.stringify({ entryMs, readyMs: performance.now() - started })}\n`);
      process.exit(0);
    }
    return headers;
  },
});
const end = res.end.bind(res);
res.end = ((...args: Parameters<typeof res.end>) => {
  process.stderr.write(`the function answered before its handler was ready: ${res.statusCode} ${String(args[0] ?? '')}\n`);
  process.exit(1);
  return end(...args);
}) as typeof res.end;
setTimeout(() => {
  process.stderr.write('the handler was not ready within 20 s\n');
  process.exit(1);
}, 20_000).unref();

void exported[name]!(req, res);
