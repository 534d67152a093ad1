/**
 * `npm run bench`. Every figure is paired with a baseline measured in the same run:
 *  1. GET /items/:id through the whole pipeline vs a bare node:http handler returning the
 *     same JSON — requests/second and p99 latency, and their ratio (target: ≥ 40 %).
 *  2. Cold start: time to import what each function loads, vs importing an empty module.
 * Load comes from autocannon in this process; each server runs in its own process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('../..', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);

interface Target {
  url: string;
  path: string;
  headers: Record<string, string>;
}

async function withServer<R>(kind: string, work: (target: Target) => Promise<R>): Promise<R> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/bench/servers.ts', kind], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
    return await work(JSON.parse(line!) as Target);
  } finally {
    child.kill();
  }
}

async function load(target: Target) {
  const options = { url: `${target.url}${target.path}`, headers: target.headers, connections, pipelining: 1 };
  await autocannon({ ...options, duration: 2 }); // warm-up: JIT, caches, SQLite pages
  const result = await autocannon({ ...options, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors: the benchmark must measure successes`);
  return { rps: result.requests.average, p99: result.latency.p99, requests: result.requests.total };
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

const pct = (value: number) => `${(value * 100).toFixed(1)} %`;

console.log(`bench: GET /items/:id, ${connections} connections, ${seconds} s each (after a 2 s warm-up)\n`);
const bare = await withServer('bare', load);
const full = await withServer('pipeline', load);
console.table({
  'bare node:http': { 'req/s': Math.round(bare.rps), 'p99 ms': bare.p99 },
  'full pipeline': { 'req/s': Math.round(full.rps), 'p99 ms': full.p99 },
});
console.log(`pipeline throughput = ${pct(full.rps / bare.rps)} of bare node:http (target ≥ 40 %); p99 ${(full.p99 / Math.max(bare.p99, 1)).toFixed(1)}× bare\n`);

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
measure('index.js (entry: firebase-functions, every function)', [lib('index.js')]);
measure('+ app.js, runtime.js (first request of auth/items/uploads)', [lib('index.js'), lib('app.js'), lib('runtime.js')]);
measure('+ Firestore driver and firebase-admin (deployed store, on first use)', [lib('index.js'), lib('app.js'), lib('runtime.js'), lib('store/firestore.js'), 'firebase-admin/app', 'firebase-admin/firestore']);
measure('+ Cloud Logging transport (deployed logs, loaded on first use)', [lib('index.js'), lib('app.js'), lib('runtime.js'), '@google-cloud/logging-winston']);
console.table(rows);
