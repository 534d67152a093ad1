/**
 * `npm run bench` (BENCH_ONLY=instructions): instructions per `GET /items/:id` on the server's
 * main thread, pipeline against bare node:http, counted by valgrind's callgrind. Unlike
 * requests/second on a shared machine (±20 % between rounds of the same server), the count
 * repeats to within about 1 %, so it shows a change of a few percent; it leaves out what the
 * kernel and the caches cost, which the requests bench measures. Each server warms up
 * uninstrumented (JIT, caches), then callgrind counts a fixed number of requests, its
 * cache simulation (an L2-sized last level) giving the misses. Skipped without valgrind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';
import { spawnServer } from './spawn-server.ts';

const WARM_UP = 10_000;
const COUNTED = 500;

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
  try {
    const send = async (amount: number) => {
      const result = await autocannon({ url: `${server.target.url}${server.target.path}`, headers: server.target.headers, connections: 16, amount, timeout: 60 });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors under valgrind`);
    };
    const control = (...args: string[]) => execFileSync('callgrind_control', [...args, String(server.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    await send(WARM_UP);
    control('--instr=on');
    control('--zero');
    await send(COUNTED);
    // "Th 1  Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw": the main thread's totals since the zero.
    const main = /Th 1\s+([\d,\s]+)\n/.exec(control('-e'));
    if (!main) throw new Error('callgrind_control gave no totals for the main thread');
    const [ir, , , i1, d1r, d1w, llI, llR, llW] = main[1]!
      .trim()
      .split(/\s+/)
      .map((n) => Number(n.replaceAll(',', '')));
    return { instructions: ir! / COUNTED, l1Misses: (i1! + d1r! + d1w!) / COUNTED, lastLevelMisses: (llI! + llR! + llW!) / COUNTED };
  } finally {
    server.stop();
  }
}

export async function instructionsBench(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('instructions: skipped (valgrind is not installed; sudo apt-get install valgrind)');
    return;
  }
  console.log(`bench: instructions per GET /items/:id on the server's main thread (callgrind; ${COUNTED} requests after ${WARM_UP.toLocaleString('en')} uninstrumented)\n`);
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
