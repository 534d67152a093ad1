/**
 * `BENCH_ONLY=cors npm run bench`: what delegating CORS header negotiation to the `cors`
 * package costs. Three servers run the whole pipeline (servers.ts `pipeline`), the same in
 * every way but the CORS stages: bastion's own (test/bench/cors-own/), cors's middleware run
 * on every request (test/bench/cors-per-request/), both swapped in by cors-variant.ts, and the
 * product's (functions/src/pipeline/cors.ts and cors-headers.ts: cors's answers recorded once
 * per allowed origin). Each is compared with bastion's own.
 * Two requests: GET /items/:id from an allowed Origin, and a preflight of PATCH on it. Before
 * measuring, each request is sent once to both and their answers must carry the same headers
 * (the ids and clocks aside). Then rounds rotate which server goes first (load drifts on a
 * shared machine); each variant's figure is its median over the rounds, and the ratio is the
 * median of the rounds' paired ratios.
 *
 * On a busy machine requests/second swing by tens of percent from one round to the next, far
 * more than the 2 % in question, so steadier figures come with it, all CPU time rather than the
 * clock (which also counts the time others ran): the servers' CPU time per request (user +
 * system, all threads, from /proc over each round); the whole pipeline in this process, every
 * variant's app.ts loaded side by side (cors-variant.ts) on one runtime, requests injected
 * (light-my-request, no socket) in short blocks that take turns, so that each block's
 * neighbours saw the same machine; and the two CORS stages alone, on a stand-in context.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'light-my-request';
import { spawnServer } from './spawn-server.ts';
import './cors-variant.ts'; // app.ts?cors=<variant> loads that variant's stages
import { request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { cpuMs, median } from './stats.ts';

/** The local platform's default allowlist (config/index.ts), which the bench server keeps. */
const ALLOWED_ORIGIN = 'http://localhost:3000';

/** Overridden by corsBench's settings (run.ts passes BENCH_CONNECTIONS; BENCH_CORS_SECONDS, BENCH_CORS_ROUNDS). */
const options = { connections: 32, seconds: 5, rounds: 6 };

type Variant = 'own' | 'per-request' | 'product';
const VARIANTS: readonly Variant[] = ['own', 'per-request', 'product'];
const LABEL: Record<Variant, string> = { own: "bastion's own stages", 'per-request': 'cors on every request', product: 'cors, recorded (product)' };
const DELEGATING: readonly Variant[] = ['per-request', 'product'];

interface Server {
  url: string;
  path: string;
  headers: Record<string, string>;
  pid: number;
  stop(): void;
}

async function startServer(variant: Variant): Promise<Server> {
  const server = await spawnServer<Omit<Server, 'stop' | 'pid'>>(['pipeline'], {
    nodeOptions: ['--import', './test/bench/cors-variant.ts'],
    env: { ...process.env, BASTION_CORS: variant },
  });
  return { ...server.target, pid: server.pid, stop: server.stop };
}

interface Case {
  name: string;
  method: 'GET' | 'OPTIONS';
  headers: (server: Server) => Record<string, string>;
  status: number;
}

const CASES: readonly Case[] = [
  {
    name: 'GET /items/:id, allowed Origin',
    method: 'GET',
    headers: (server) => ({ ...server.headers, origin: ALLOWED_ORIGIN }),
    status: 200,
  },
  {
    name: 'preflight OPTIONS /items/:id (PATCH)',
    method: 'OPTIONS',
    headers: () => ({ origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' }),
    status: 204,
  },
];

/** Headers that differ from one answer to the next whatever the code. */
const VOLATILE = new Set(['date', 'x-request-id', 'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']);

function answerOf(server: Server, c: Case): Promise<{ status: number; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}${server.path}`, { method: c.method, headers: c.headers(server), agent: false });
    req.on('response', (res) => {
      res.resume();
      // By name: the order of headers in the answer is no behaviour.
      const headers: Record<string, string> = {};
      for (const name of Object.keys(res.headers).sort()) if (!VOLATILE.has(name)) headers[name] = String(res.headers[name]);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(server: Server, c: Case, duration: number) {
  const cpuBefore = cpuMs(server.pid);
  const result = await autocannon({ url: `${server.url}${server.path}`, method: c.method, headers: c.headers(server), connections: options.connections, pipelining: 1, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.name}: ${result.non2xx} non-2xx and ${result.errors} errors: the bench must measure successes`);
  return { rps: result.requests.average, p99: result.latency.p99, cpuMs: cpuMs(server.pid) - cpuBefore, requests: result.requests.total };
}

/** The variants in the order of a round: each goes first in turn, and the order flips every other turn. */
function rotated(round: number): Variant[] {
  const turned = [...VARIANTS.slice(round % VARIANTS.length), ...VARIANTS.slice(0, round % VARIANTS.length)];
  return Math.floor(round / VARIANTS.length) % 2 === 0 ? turned : turned.reverse();
}

/** A stand-in for what the CORS stages read and write of a request's context. */
function contextFor(c: Case) {
  const headers: Record<string, string> =
    c.method === 'GET'
      ? { origin: ALLOWED_ORIGIN }
      : { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' };
  const res = { writeHead: () => res, end: () => res };
  return { req: { method: c.method, headers }, res, path: '/items/BenchItem00000000001', responseHeaders: {} as Record<string, string> };
}

/** CPU ns per request through corsHeaders then cors (then a no-op), for each variant; medians of alternating runs. */
async function stagesNs(c: Case): Promise<Record<Variant, number>> {
  const { compose } = await import('../../functions/src/pipeline/compose.ts');
  const modules = {
    own: [await import('./cors-own/cors-headers.ts'), await import('./cors-own/cors.ts')] as const,
    'per-request': [await import('./cors-per-request/cors-headers.ts'), await import('./cors-per-request/cors.ts')] as const,
    product: [await import('../../functions/src/pipeline/cors-headers.ts'), await import('../../functions/src/pipeline/cors.ts')] as const,
  };
  const origins = [ALLOWED_ORIGIN];
  const methodsFor = () => ['GET', 'PATCH', 'DELETE'];
  const runs = Object.fromEntries(
    VARIANTS.map((v) => {
      const [{ corsHeaders }, { cors }] = modules[v];
      return [v, compose([corsHeaders({ origins }), cors({ origins, methodsFor }), async () => {}])];
    }),
  ) as Record<Variant, ReturnType<typeof compose>>;
  const iterations = 200_000;
  // CPU time, not the clock: on a busy machine the clock also counts the time others ran.
  const once = async (v: Variant) => {
    const started = process.cpuUsage();
    for (let i = 0; i < iterations; i += 1) await runs[v](contextFor(c) as never);
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / iterations;
  };
  for (const v of VARIANTS) await once(v); // warm-up
  const samples: Record<Variant, number[]> = { own: [], 'per-request': [], product: [] };
  for (let round = 0; round < 9; round += 1) for (const v of rotated(round)) samples[v].push(await once(v));
  return { own: median(samples.own), 'per-request': median(samples['per-request']), product: median(samples.product) };
}

/**
 * CPU ns per request of the whole pipeline (createLocalHandler: every stage, the token, the
 * rate limiter's store, the SQLite read, the access log to /dev/null), per variant, injected in
 * this process: blocks of `block` requests take turns, `rounds` times; medians over the rounds.
 */
async function wholePipelineNs(c: Case, rounds = 60, block = 200): Promise<{ ns: Record<Variant, number>; ratio: Record<Variant, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-cors-'));
  const { loadConfig } = await import('../../functions/src/config/index.ts');
  const { createRuntime } = await import('../../functions/src/runtime.ts');
  const { issueAccessToken } = await import('../../functions/src/auth/tokens.ts');
  const { routes } = await import('../../functions/src/routes.ts');
  const config = await loadConfig({
    APP_ENV: 'test',
    SQLITE_PATH: join(dir, 'bench.sqlite'),
    BLOB_DIR: join(dir, 'blobs'),
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000000',
    RATE_LIMIT_API_PER_MINUTE: '1000000000',
    LOG_LEVEL: 'info',
  });
  const runtime = await createRuntime(config, { logStream: createWriteStream('/dev/null') });
  try {
    const id = 'BenchItem00000000001';
    const item = { ownerId: 'bench-user', name: 'Desk lamp', description: 'Warm light', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
    await runtime.store.set('items', id, item);
    const token = await issueAccessToken(config.auth, { sub: item.ownerId, roles: ['user'], amr: ['pwd'], emailVerified: true });
    const appUrl = new URL('../../functions/src/app.ts', import.meta.url).href;
    type App = typeof import('../../functions/src/app.ts');
    const handlers = Object.fromEntries(
      await Promise.all(VARIANTS.map(async (v) => [v, ((await import(`${appUrl}?cors=${v}`)) as App).createLocalHandler(runtime, routes)] as const)),
    ) as Record<Variant, ReturnType<App['createLocalHandler']>>;
    const server = { url: '', path: `/items/${id}`, headers: { authorization: `Bearer ${token}` }, pid: process.pid, stop() {} };
    const request = { method: c.method, url: server.path, headers: c.headers(server), remoteAddress: '127.0.0.1' };
    const once = async (v: Variant) => {
      const started = process.cpuUsage();
      for (let i = 0; i < block; i += 1) {
        const response = await inject((req, res) => void handlers[v](req, res), request);
        if (response.statusCode !== c.status) throw new Error(`${c.name} (${v}): ${response.statusCode} ${response.body}`);
      }
      const used = process.cpuUsage(started);
      return ((used.user + used.system) * 1000) / block;
    };
    for (let i = 0; i < 5; i += 1) for (const v of VARIANTS) await once(v); // warm-up
    const samples: Record<Variant, number[]> = { own: [], 'per-request': [], product: [] };
    for (let round = 0; round < rounds; round += 1) for (const v of rotated(round)) samples[v].push(await once(v));
    // The throughput ratio to own: the median of each round's own ns / the variant's ns.
    const ratio = (v: Variant) => median(samples[v].map((ns, i) => samples.own[i]! / ns));
    return {
      ns: { own: median(samples.own), 'per-request': median(samples['per-request']), product: median(samples.product) },
      ratio: { own: 1, 'per-request': ratio('per-request'), product: ratio('product') },
    };
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function corsBench(settings: Partial<typeof options> = {}): Promise<void> {
  Object.assign(options, settings);
  console.log(
    `bench: CORS stages, bastion's own vs delegating to the cors package; whole pipeline, ${options.connections} connections, ` +
      `${options.rounds} rotating rounds of ${options.seconds} s per request and variant (after a 2 s warm-up)\n`,
  );
  const servers = Object.fromEntries(await Promise.all(VARIANTS.map(async (v) => [v, await startServer(v)] as const))) as Record<Variant, Server>;
  try {
    const rows: Record<string, Record<string, number | string>> = {};
    for (const c of CASES) {
      const answers = await Promise.all(VARIANTS.map((v) => answerOf(servers[v], c)));
      if (answers[0]!.status !== c.status || answers.some((a) => JSON.stringify(a) !== JSON.stringify(answers[0]))) {
        throw new Error(`${c.name}: the variants answer differently:\n${JSON.stringify(answers, null, 2)}`);
      }
      for (const v of VARIANTS) await load(servers[v], c, 2); // warm-up: JIT, caches, SQLite pages
      const samples: Record<Variant, Awaited<ReturnType<typeof load>>[]> = { own: [], 'per-request': [], product: [] };
      for (let round = 0; round < options.rounds; round += 1) {
        for (const v of rotated(round)) samples[v].push(await load(servers[v], c, options.seconds));
      }
      // CPU per request over all rounds together: total CPU / total requests.
      const cpuUs = (v: Variant) => (samples[v].reduce((sum, s) => sum + s.cpuMs, 0) * 1000) / samples[v].reduce((sum, s) => sum + s.requests, 0);
      const stages = await stagesNs(c);
      const whole = await wholePipelineNs(c);
      for (const v of VARIANTS) {
        rows[`${c.name}: ${LABEL[v]}`] = {
          'req/s (median)': Math.round(median(samples[v].map((s) => s.rps))),
          'req/s per round': samples[v].map((s) => Math.round(s.rps)).join(' '),
          'p99 ms (median)': median(samples[v].map((s) => s.p99)),
          'server CPU µs/request': Number(cpuUs(v).toFixed(1)),
          'in-process pipeline, CPU µs/request': Number((whole.ns[v] / 1000).toFixed(1)),
          'CORS stages alone, ns/request': Math.round(stages[v]),
        };
      }
      console.log(`${c.name}, against bastion's own stages (${cpuUs('own').toFixed(1)} µs of server CPU per request):`);
      for (const v of DELEGATING) {
        const ratios = samples[v].map((s, i) => s.rps / samples.own[i]!.rps);
        const cpuRatio = cpuUs('own') / cpuUs(v);
        const stageShare = (stages[v] - stages.own) / (cpuUs('own') * 1000);
        const wholeRatio = whole.ratio[v];
        console.log(
          `  ${LABEL[v]}: req/s ${(median(ratios) * 100).toFixed(1)} % of own (rounds: ${ratios.map((r) => (r * 100).toFixed(1)).join(', ')}); ` +
            `server CPU per request: throughput cost ${((1 - cpuRatio) * 100).toFixed(1)} %; ` +
            `in-process pipeline: ${(wholeRatio * 100).toFixed(1)} % of own's throughput (cost ${((1 - wholeRatio) * 100).toFixed(1)} %); ` +
            `the stages alone: ${stages[v] >= stages.own ? '+' : ''}${Math.round(stages[v] - stages.own)} ns per request = ${(stageShare * 100).toFixed(2)} % (budget: 2 %)`,
        );
      }
    }
    console.table(rows);
  } finally {
    for (const v of VARIANTS) servers[v].stop();
  }
}
