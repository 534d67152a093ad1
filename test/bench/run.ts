/**
 * `npm run bench`. Every figure is paired with a baseline measured in the same run:
 *  1. GET /items/:id through the whole pipeline vs a bare node:http handler returning the
 *     same JSON — requests/second and p99 latency in alternating rounds, and the ratio of their
 *     medians (target: ≥ 40 %).
 *  2. Uploads: POST /uploads of a photo-sized PNG of real pixels just under the size limit
 *     (5 MiB) through the whole pipeline (multipart parsing, inspection, re-encoding, hashing,
 *     disk blob, metadata) vs the work no pipeline can avoid, done by bare node:http: the same
 *     file re-encoded by reencode.ts alone (sharp with the product's settings) plus the raw disk
 *     write — uploads/s one at a time and 20 at once (target: within 1.5×), and the server's
 *     peak memory growth (RSS) during the 20 concurrent uploads (target: < 256 MiB). The raw
 *     write alone is printed for reference.
 *  3. Cold start: time to import what each function loads, vs importing an empty module; and
 *     per function, the whole cold path a deployed instance meets on its first request (entry,
 *     the function's pipeline and routes, the Firestore driver, the Cloud Logging transport),
 *     each sample a fresh process (test/bench/cold-start.ts), vs the same empty module.
 *  2b. Data size: GET /items (a page of 20) and GET /items/:id with 10 and with 100,000 items in
 *     the collection (many owners), on SQLite — the cost per request must stay flat (≤ 1.5×).
 *  2c. Store round trips per request by route kind, counted by an instrumented store
 *     (test/bench/round-trips.ts).
 *  1b. Instructions per GET /items/:id on each server's main thread, pipeline vs bare, counted
 *     by callgrind (test/bench/instructions.ts): repeatable to about 1 % where req/s is not.
 *  4. CORS: the whole pipeline with bastion's own CORS stages vs the product's, which delegate
 *     header negotiation to the `cors` package — an allowed Origin's GET and a preflight, in
 *     alternating rounds (test/bench/cors.ts).
 * Load comes from autocannon (or a plain node:http client, for uploads) in this process; each
 * server runs in its own process.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '../../scripts/loopback.ts';
import { spawnServer } from './spawn-server.ts';
import { cpuMs, machineTime, median, quantile, stealBetween } from './stats.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

interface Target {
  url: string;
  path: string;
  /** A page of the bench user's items (the pipeline server). */
  listPath?: string;
  headers: Record<string, string>;
  /** The server's process id, for its memory. */
  pid: number;
}

async function withServer<R>(kind: string, work: (target: Target) => Promise<R>, ...args: string[]): Promise<R> {
  const server = await spawnServer<Omit<Target, 'pid'>>([kind, ...args]);
  try {
    return await work({ ...server.target, pid: server.pid });
  } finally {
    server.stop();
  }
}

/**
 * One round of load on the target's GET for `duration` seconds; anything but successes stops the
 * bench. The p99 is taken from every response's own latency: autocannon's histogram keeps whole
 * milliseconds, too coarse a unit next to bare's 2–3 ms for a ratio to mean anything.
 */
async function measure(target: Omit<Target, 'pid'>, duration: number, pid?: number) {
  const latencies: number[] = [];
  const cpuBefore = serverCpuMs(pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options = { url: `${target.url}${target.path}`, headers: target.headers, connections, pipelining: 1, duration };
    const instance = autocannon(options, (error: Error | null, done: autocannon.Result) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors: the benchmark must measure successes`);
  const cpuAfter = serverCpuMs(pid);
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore;
  return { rps: result.requests.average, p99: quantile(latencies, 0.99), cpuMs: cpu, requests: result.requests.total };
}

/** The server's CPU time so far (all its threads), or undefined without /proc. */
function serverCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return cpuMs(pid);
  } catch {
    return undefined;
  }
}

async function load(target: Target) {
  await measure(target, 2); // warm-up: JIT, caches, SQLite pages
  return measure(target, seconds);
}

function importMs(specifiers: string[]): number {
  const imports = specifiers.map((s) => `await import(${JSON.stringify(s)});`).join(' ');
  const code = `const t = performance.now(); ${imports} process.stdout.write(String(performance.now() - t));`;
  const samples: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    samples.push(Number(run.stdout));
  }
  return samples.sort((a, b) => a - b)[2]!; // median
}

interface ColdPath {
  entryMs: number;
  readyMs: number;
  firstCallMs: number;
  readyCpuMs: number | null;
}

/** Median of 7 fresh processes: the function's first request, until its handler is ready (see cold-start.ts). */
function coldPath(name: string, env: NodeJS.ProcessEnv): ColdPath {
  const samples: ColdPath[] = [];
  for (let i = 0; i < 7; i += 1) {
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/bench/cold-start.ts', name], { cwd: root, encoding: 'utf8', env });
    if (run.status !== 0) throw new Error(`cold start of ${name} failed:\n${run.stderr}`);
    samples.push(JSON.parse(run.stdout) as ColdPath);
  }
  return samples.sort((a, b) => a.readyMs - b.readyMs)[3]!;
}

const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

const MiB = 1024 * 1024;
const { fileForm } = await import('../support/multipart.ts');
/**
 * A 1600×1200 photo's worth of pixels (Gaussian noise on a colour: it compresses about as badly
 * as a photo's detail), 4.8 MiB as PNG: just under the limit, and every byte of it pixels to decode.
 */
async function benchImage(): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const noise = { type: 'gaussian', mean: 128, sigma: 30 } as const;
  const image = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 120, g: 140, b: 160 }, noise } })
    .png()
    .toBuffer();
  if (image.length > 5 * MiB) throw new Error('the bench image must fit the upload limit (5 MiB)');
  return image;
}
const uploadForm = fileForm('bench.png', 'image/png', await benchImage());

/** Shed uploads (503 upload_busy: the decode queue is full), counted and retried after Retry-After. */
let shed = 0;

function postUploadOnce(target: Target, path: string): Promise<{ status: number; retryAfter: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${target.url}${path}`, {
      method: 'POST',
      agent: false,
      headers: { ...target.headers, 'content-type': uploadForm.contentType, 'content-length': String(uploadForm.body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 1) }));
    });
    req.on('error', reject);
    req.end(uploadForm.body);
  });
}

async function postUpload(target: Target, path: string): Promise<void> {
  for (;;) {
    const { status, retryAfter } = await postUploadOnce(target, path);
    if (status === 201) return;
    if (status !== 503) throw new Error(`upload answered ${status}`);
    shed += 1;
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** Uploads/s one at a time and 20 at once, and the server's peak RSS growth during the 20; POSTs to `path`. */
function uploads(path: string) {
  return async (target: Target) => {
    for (let i = 0; i < 3; i += 1) await postUpload(target, path); // warm-up
    const sequential = 20;
    let started = performance.now();
    for (let i = 0; i < sequential; i += 1) await postUpload(target, path);
    const oneAtATime = sequential / ((performance.now() - started) / 1000);

    const concurrent = 20;
    const before = rssBytes(target.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(target.pid))), 2);
    started = performance.now();
    await Promise.all(Array.from({ length: concurrent }, () => postUpload(target, path)));
    const atOnce = concurrent / ((performance.now() - started) / 1000);
    clearInterval(sampler);
    peak = Math.max(peak, rssBytes(target.pid));
    return { oneAtATime, atOnce, growth: (peak - before) / MiB };
  };
}

// BENCH_ONLY=uploads (or requests, instructions, data, round-trips, cors, cold-start; comma-separated) runs only those parts.
const only = new Set((process.env.BENCH_ONLY ?? 'requests,instructions,data,round-trips,uploads,cors,cold-start').split(','));

if (only.has('requests')) {
  // Both servers run at once and are measured in alternating rounds, the medians compared: on a
  // shared machine the speed of the moment varies more between minutes than between servers.
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  const roundSeconds = seconds / rounds;
  console.log(`bench: GET /items/:id, ${connections} connections, ${rounds} alternating rounds of ${roundSeconds} s each (after a 2 s warm-up)\n`);
  const servers = await Promise.all(['bare', 'pipeline'].map((kind) => spawnServer<Omit<Target, 'pid'>>([kind])));
  const measured: Awaited<ReturnType<typeof measure>>[][] = [[], []];
  let steal: number | undefined;
  try {
    for (const server of servers) await measure(server.target, 2); // warm-up: JIT, caches, SQLite pages
    const before = machineTime();
    for (let i = 0; i < rounds; i += 1) {
      for (const [k, server] of servers.entries()) measured[k]!.push(await measure(server.target, roundSeconds, server.pid));
    }
    steal = stealBetween(before, machineTime());
  } finally {
    for (const server of servers) server.stop();
  }
  const [bare, full] = measured.map((rows) => ({ rps: median(rows.map((r) => r.rps)), p99: median(rows.map((r) => r.p99)) })) as [
    { rps: number; p99: number },
    { rps: number; p99: number },
  ];
  console.table({
    'bare node:http': { 'req/s (median)': Math.round(bare.rps), 'p99 ms (median)': bare.p99.toFixed(2), rounds: measured[0]!.map((r) => Math.round(r.rps)).join(', ') },
    'full pipeline': { 'req/s (median)': Math.round(full.rps), 'p99 ms (median)': full.p99.toFixed(2), rounds: measured[1]!.map((r) => Math.round(r.rps)).join(', ') },
  });
  console.log(`pipeline throughput = ${pct(full.rps / bare.rps)} of bare node:http (target ≥ 40 %); p99 ${(full.p99 / bare.p99).toFixed(2)}× bare`);
  // Other machines' load on a shared host disturbs the two servers unequally (the pipeline keeps its
  // CPU busy, bare waits on the load generator part of the time): a ratio measured under it says less.
  if (steal !== undefined) console.log(`CPU time stolen by the hypervisor during the rounds: ${pct(steal)} (the higher, the less the ratio says)`);
  // The servers' own CPU time per request, over all rounds: time stolen or spent by the load
  // generator is not in it, so it moves less than requests/second; it shows the cost, not the rate.
  const [bareCpu, fullCpu] = measured.map((rows) =>
    rows.every((r) => r.cpuMs !== undefined) ? (rows.reduce((sum, r) => sum + r.cpuMs!, 0) * 1000) / rows.reduce((sum, r) => sum + r.requests, 0) : undefined,
  );
  if (bareCpu !== undefined && fullCpu !== undefined) {
    console.log(
      `server CPU per request (user + system, all threads): bare ${bareCpu.toFixed(1)} µs, pipeline ${fullCpu.toFixed(1)} µs: bare's cost is ${pct(bareCpu / fullCpu)} of the pipeline's`,
    );
  }
  console.log('');
}

if (only.has('data')) {
  console.log('bench: GET /items (a page of 20; the user has 10) and GET /items/:id with 10 and with 100,000 items in the collection (many owners), SQLite\n');
  const sizes = [10, 100_000];
  type Measured = Awaited<ReturnType<typeof load>>;
  const measured: { read: Measured; page: Measured }[] = [];
  for (const size of sizes) {
    measured.push(await withServer('pipeline', async (target) => ({ read: await load(target), page: await load({ ...target, path: target.listPath! }) }), String(size)));
  }
  const [small, large] = measured as [(typeof measured)[number], (typeof measured)[number]];
  console.table(
    Object.fromEntries(
      sizes.map((size, i) => {
        const m = measured[i]!;
        return [
          `${size.toLocaleString('en')} items`,
          {
            'GET /items/:id req/s': Math.round(m.read.rps),
            'GET /items req/s': Math.round(m.page.rps),
            'p99 ms (:id, page)': `${m.read.p99.toFixed(2)}, ${m.page.p99.toFixed(2)}`,
          },
        ];
      }),
    ),
  );
  const growth = (a: { rps: number }, b: { rps: number }) => (a.rps / b.rps).toFixed(2);
  console.log(
    `cost per request at 100,000 items = ${growth(small.read, large.read)}× at 10 for GET /items/:id, ${growth(small.page, large.page)}× for a page of GET /items (target ≤ 1.5×)\n`,
  );
}

if (only.has('round-trips')) {
  const { roundTripsBench } = await import('./round-trips.ts');
  await roundTripsBench();
  console.log();
}

if (only.has('instructions')) {
  const { instructionsBench } = await import('./instructions.ts');
  await instructionsBench();
  console.log();
}

if (only.has('uploads')) {
  console.log(`bench: POST /uploads of a ${(uploadForm.body.length / MiB).toFixed(2)} MiB multipart body (a 1600×1200 PNG of noise, just under the 5 MiB limit)\n`);
  const rawWrite = await withServer('bare', uploads('/raw'));
  const unavoidable = await withServer('bare', uploads('/uploads'));
  shed = 0; // only the pipeline's answers count
  const pipelineUploads = await withServer('pipeline', uploads('/uploads'));
  const uploadRow = (r: typeof rawWrite) => ({
    'uploads/s, one at a time': Number(r.oneAtATime.toFixed(1)),
    'uploads/s, 20 at once': Number(r.atOnce.toFixed(1)),
    'peak RSS growth, 20 at once (MiB)': Math.round(r.growth),
  });
  console.table({
    'raw disk write alone (reference)': uploadRow(rawWrite),
    're-encode (reencode.ts alone) + raw disk write': uploadRow(unavoidable),
    'POST /uploads (full pipeline)': uploadRow(pipelineUploads),
  });
  const inFlight = (20 * uploadForm.body.length) / MiB;
  const cost = (baseline: number, measured: number) => (baseline / measured).toFixed(2);
  console.log(
    `upload time = ${cost(unavoidable.oneAtATime, pipelineUploads.oneAtATime)}× the unavoidable work (re-encode + raw write) one at a time, ` +
      `${cost(unavoidable.atOnce, pipelineUploads.atOnce)}× with 20 at once (target ≤ 1.5×); peak memory growth with ${Math.round(inFlight)} MiB in flight: ` +
      `${Math.round(pipelineUploads.growth)} MiB (target < 256 MiB; re-encode + raw write: ${Math.round(unavoidable.growth)} MiB); ` +
      `${shed} answers were 503 upload_busy (the decode queue full), each retried after its Retry-After\n`,
  );
}

if (only.has('cors')) {
  const { corsBench } = await import('./cors.ts');
  await corsBench({
    connections,
    seconds: Number(process.env.BENCH_CORS_SECONDS ?? 5),
    rounds: Number(process.env.BENCH_CORS_ROUNDS ?? 6),
  });
  console.log();
}

if (only.has('cold-start')) {
  console.log('cold start: import time of the compiled code (functions/lib), median of 5 fresh processes');
  const build = spawnSync('npx', ['tsc', '-p', 'functions'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  const lib = (path: string) => new URL(`../../functions/lib/${path}`, import.meta.url).href;
  const baseline = importMs(['data:text/javascript,export default 1']);
  const rows: Record<string, { ms: number; 'vs empty module': string }> = {};
  const measure = (label: string, specifiers: string[]) => {
    const ms = importMs(specifiers);
    rows[label] = { ms: Math.round(ms), 'vs empty module': `${(ms / Math.max(baseline, 0.01)).toFixed(0)}×` };
  };
  measure('empty module (baseline)', ['data:text/javascript,export default 1']);
  measure('index.js as discovery loads it (firebase-functions, every declaration)', [lib('index.js')]);
  measure("+ app.js, runtime.js (pipeline and runtime, on any function's first request)", [lib('index.js'), lib('app.js'), lib('runtime.js')]);
  measure('+ Firestore driver and firebase-admin (deployed store, on first use)', [
    lib('index.js'),
    lib('app.js'),
    lib('runtime.js'),
    lib('store/firestore.js'),
    'firebase-admin/app',
    'firebase-admin/firestore',
  ]);
  measure('+ upload receiving: busboy, file-type, image-size (first upload)', [lib('index.js'), lib('app.js'), lib('runtime.js'), lib('uploads/receive.js')]);
  // For reference: what the Cloud Logging client would add, had logger.ts not written its lines itself.
  measure('+ @google-cloud/logging-winston (not loaded: reference)', [lib('index.js'), lib('app.js'), lib('runtime.js'), '@google-cloud/logging-winston']);
  console.table(rows);

  console.log('cold path per function: its first request until its handler is ready (Firestore driver, Cloud Logging; no network), median of 7 fresh processes');
  const port = await freePort();
  const { generateSigningKey } = await import('../../functions/src/config/signing-keys.ts');
  const deployed: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ENV: 'test', // production's secrets aside, the configuration of a deployed instance:
    STORE_DRIVER: 'firestore',
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`, // nothing listens: the sample ends when the handler is ready, before any store call
    GCLOUD_PROJECT: 'bench-cold-start',
    BLOB_DRIVER: 'cloud-storage',
    STORAGE_BUCKET: 'bench-cold-start',
    LOG_TARGET: 'cloud-logging',
    LOG_LEVEL: 'info',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: `127.0.0.1:${port}`,
    AUTH_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
  };
  for (const name of ['K_SERVICE', 'FUNCTION_TARGET', 'FUNCTIONS_EMULATOR', 'STORAGE_EMULATOR_HOST', 'SQLITE_PATH', 'BLOB_DIR']) delete deployed[name];
  const empty = importMs(['data:text/javascript,export default 1']);
  const perFunction: Record<
    string,
    { 'entry ms': number | string; 'ready ms': number; 'vs empty module': string; 'first call ms': number | string; 'ready CPU ms': number | string }
  > = {
    'empty module (baseline)': { 'entry ms': '', 'ready ms': Math.round(empty), 'vs empty module': '1×', 'first call ms': '', 'ready CPU ms': '' },
  };
  for (const name of ['auth', 'items', 'uploads']) {
    // As the platform starts an instance for one HTTP function (the FUNCTION_TARGET firebase deploy sets, Cloud Run's signature type).
    const { entryMs, readyMs, firstCallMs, readyCpuMs } = coldPath(name, { ...deployed, FUNCTION_TARGET: name, FUNCTION_SIGNATURE_TYPE: 'http', K_SERVICE: name });
    perFunction[name] = {
      'entry ms': Math.round(entryMs),
      'ready ms': Math.round(readyMs),
      'vs empty module': `${(readyMs / Math.max(empty, 0.01)).toFixed(0)}×`,
      'first call ms': Math.round(firstCallMs),
      'ready CPU ms': readyCpuMs === null ? 'n/a' : Math.round(readyCpuMs),
    };
  }
  console.table(perFunction);
}
