/**
 * One cold start of one deployed function, in this fresh process (`node test/bench/cold-start.ts
 * <function>`; run.ts starts one per sample, with the environment of a deployed instance: the
 * platform's FUNCTION_TARGET naming the function, the Firestore driver, Cloud Logging, Cloud
 * Storage, and no network). It imports the compiled entry
 * (functions/lib/index.js) and hands the exported function its first request, as the platform
 * does; the function loads its pipeline, routes, runtime (config, Firestore driver, Cloud Logging
 * transport) and then starts the request: the moment it first reads the request after
 * `res.removeHeader` (which index.ts calls before loading) is when the handler is ready. The
 * request goes on to its first store call (the per-IP rate limit), for which the Firestore
 * client builds its API client (google-gax's REST transport, the API's protos, the auth
 * client) — part of the Firestore driver's cold path too, which a deployed instance meets on
 * its first request: the moment that call opens its connection is when the first call left.
 * The request is never finished (the store is a closed port): the process reports and exits.
 * Prints one JSON line: { entryMs, readyMs, firstCallMs, readyCpuMs, firstCallCpuMs }, all from
 * the start of this module's own work; the *CpuMs are the main thread's own CPU time (Linux),
 * which a busy machine disturbs far less than the wall-clock times.
 */
import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

/** This thread's time on a CPU, in ms (/proc's schedstat: ns on the CPU), or null off Linux. */
function mainThreadCpuMs(): number | null {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

const name = process.argv[2] as 'auth' | 'items' | 'uploads';
const path = name === 'auth' ? '/auth/.well-known/jwks.json' : `/${name}`;

const cpuAtStart = mainThreadCpuMs();
const cpuSinceStart = () => {
  const now = mainThreadCpuMs();
  return now === null || cpuAtStart === null ? null : now - cpuAtStart;
};
const started = performance.now();
const exported = (await import(new URL('../../functions/lib/index.js', import.meta.url).href)) as Record<string, (req: IncomingMessage, res: ServerResponse) => unknown>;
const entryMs = performance.now() - started;

const req = new IncomingMessage(new Socket());
Object.assign(req, { method: 'GET', url: path, rawBody: Buffer.alloc(0) });
const headers = { host: 'bench.invalid', 'x-forwarded-for': '203.0.113.7' };
const res = new ServerResponse(req);

let loading = false;
let ready: { readyMs: number; readyCpuMs: number | null } | undefined;
const removeHeader = res.removeHeader.bind(res);
res.removeHeader = (header: string) => {
  loading = true; // index.ts's lazily(): the function's code loads next
  removeHeader(header);
};
Object.defineProperty(req, 'headers', {
  get() {
    if (loading && !ready) ready = { readyMs: performance.now() - started, readyCpuMs: cpuSinceStart() };
    return headers;
  },
});
// The first outgoing connection once the handler is ready: the store's first call leaving.
const connect = Socket.prototype.connect;
Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
  if (ready) {
    process.stdout.write(`${JSON.stringify({ entryMs, ...ready, firstCallMs: performance.now() - started, firstCallCpuMs: cpuSinceStart() })}\n`);
    process.exit(0);
  }
  return (connect as (...a: unknown[]) => Socket).apply(this, args);
};
const end = res.end.bind(res);
res.end = ((...args: Parameters<typeof res.end>) => {
  const when = ready ? 'before its first store call' : 'before its handler was ready';
  process.stderr.write(`the function answered ${when}: ${res.statusCode} ${String(args[0] ?? '')}\n`);
  process.exit(1);
  return end(...args);
}) as typeof res.end;
setTimeout(() => {
  process.stderr.write(ready ? 'no store call within 20 s\n' : 'the handler was not ready within 20 s\n');
  process.exit(1);
}, 20_000).unref();

void exported[name]!(req, res);
