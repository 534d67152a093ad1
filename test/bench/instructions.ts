/**
 * `npm run bench` (BENCH_ONLY=instructions): instructions per `GET /items/:id` on the server's
 * main thread, pipeline against bare node:http, counted by valgrind's callgrind. Unlike
 * requests/second on a shared machine (±20 % between rounds of the same server), the count
 * repeats to within about 1 %, so it shows a change of a few percent; it leaves out what the
 * kernel and the real caches cost, which the requests bench measures. Each server warms up
 * uninstrumented (JIT, caches) over 16 keep-alive connections, which stay open; callgrind then
 * counts windows of requests on them, the median kept, its cache simulation (an L2-sized last
 * level) giving the misses. Skipped without valgrind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { Agent, get } from 'node:http';
import { spawnServer } from './spawn-server.ts';

const WARM_UP = 10_000;
const COUNTED = 100;
const WINDOWS = 5;

interface Counts {
  instructions: number;
  l1Misses: number;
  lastLevelMisses: number;
}

async function countPerRequest(kind: string): Promise<Counts> {
  const server = await spawnServer<{ url: string; path: string; headers: Record<string, string> }>([kind], {
    wrapper: [
      'valgrind',
      '--log-file=/dev/null',
      '--tool=callgrind',
      '--instr-atstart=no',
      '--callgrind-out-file=/dev/null',
      '--cache-sim=yes',
      '--LL=2097152,16,64',
      '--smc-check=all-non-file',
    ],
  });
  // 16 keep-alive connections, open from the warm-up on: a window counts requests, not connection set-ups.
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const once = () =>
      new Promise<void>((resolve, reject) => {
        const req = get(`${server.target.url}${server.target.path}`, { agent, headers: server.target.headers }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`the bench server answered ${res.statusCode}`))));
        });
        req.on('error', reject);
      });
    const send = async (amount: number) => {
      let left = amount;
      const lane = async () => {
        while (left > 0) {
          left -= 1;
          await once();
        }
      };
      await Promise.all(Array.from({ length: 16 }, lane));
    };
    const control = (...args: string[]) => execFileSync('callgrind_control', [...args, String(server.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    await send(WARM_UP);
    control('--instr=on');
    // Windows of COUNTED requests, the median kept: one that a major GC or a timer's work (the
    // expiry sweep, a rate-limit lease's transaction) lands in counts up to twice as much.
    const windows: Counts[] = [];
    for (let i = 0; i < WINDOWS; i += 1) {
      control('--zero');
      await send(COUNTED);
      // "Th 1  Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw": the main thread's totals since the zero.
      const main = /Th 1\s+([\d,\s]+)\n/.exec(control('-e'));
      if (!main) throw new Error('callgrind_control gave no totals for the main thread');
      const [ir, , , i1, d1r, d1w, llI, llR, llW] = main[1]!
        .trim()
        .split(/\s+/)
        .map((n) => Number(n.replaceAll(',', '')));
      windows.push({ instructions: ir! / COUNTED, l1Misses: (i1! + d1r! + d1w!) / COUNTED, lastLevelMisses: (llI! + llR! + llW!) / COUNTED });
    }
    return windows.sort((a, b) => a.instructions - b.instructions)[Math.floor(WINDOWS / 2)]!;
  } finally {
    agent.destroy();
    server.stop();
  }
}

export async function instructionsBench(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('instructions: skipped (valgrind is not installed; sudo apt-get install valgrind)');
    return;
  }
  console.log(
    `bench: instructions per GET /items/:id on the server's main thread (callgrind; the median of ${WINDOWS} windows of ${COUNTED} requests, after ${WARM_UP.toLocaleString('en')} uninstrumented)\n`,
  );
  const bare = await countPerRequest('bare');
  const pipeline = await countPerRequest('pipeline');
  const row = (counts: Counts) => ({
    'instructions/request': Math.round(counts.instructions),
    'L1 misses/request': Math.round(counts.l1Misses),
    'L2-sized last-level misses/request': Math.round(counts.lastLevelMisses),
  });
  console.table({ 'bare node:http': row(bare), 'full pipeline': row(pipeline) });
  console.log(`pipeline instructions per request = ${(pipeline.instructions / bare.instructions).toFixed(2)}× bare node:http`);
}
