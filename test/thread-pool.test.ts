/**
 * thread-pool.ts, imported first by an entry module run with node, sizes libuv's thread pool
 * before anything uses it; a size set in the environment wins. The pool is measured from the
 * outside, in a fresh process: k threads are held on FIFO opens (each blocks its thread until a
 * writer comes), and a file stat answers only if the pool has a thread left over; when it has
 * none, the kernel shows every pool thread blocked in its FIFO open (/proc/self/task), which is
 * the evidence, rather than a stat that has not answered after some fixed time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const THREAD_POOL = new URL('../functions/src/thread-pool.ts', import.meta.url).href;

/** Whether a process (importing thread-pool.ts first, or not) has more than `held` pool threads. */
function poolExceeds(held: number, { importFirst, env = {} }: { importFirst: boolean; env?: Record<string, string> }): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-pool-'));
  try {
    const fifos = Array.from({ length: held }, (_, i) => join(dir, `fifo${i}`));
    for (const fifo of fifos) assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const script = `
      ${importFirst ? `import ${JSON.stringify(THREAD_POOL)};` : ''}
      import { closeSync, constants, open, openSync, readdirSync, readFileSync, stat } from 'node:fs';
      const fifos = ${JSON.stringify(fifos)};
      for (const fifo of fifos) open(fifo, 'r', () => {});
      const release = (answer) => {
        console.log(answer);
        for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        process.exit(0);
      };
      // Starved, as the kernel shows it: every pool thread (libuv names them) is blocked opening
      // a FIFO, so the stat queued behind the opens cannot run. Not a fixed wait for an answer.
      const OPENAT = { x64: '257', arm64: '56' }[process.arch];
      const blockedOnFifo = (task) => {
        const wchan = readFileSync(task + '/wchan', 'utf8').trim();
        if (wchan !== '0' && wchan !== '') return wchan === 'wait_for_partner';
        return readFileSync(task + '/syscall', 'utf8').split(' ')[0] === OPENAT; // wchan hidden by the kernel
      };
      const starved = () => {
        const workers = readdirSync('/proc/self/task')
          .map((tid) => '/proc/self/task/' + tid)
          .filter((task) => readFileSync(task + '/comm', 'utf8').trim() === 'libuv-worker');
        return workers.length > 0 && workers.every(blockedOnFifo);
      };
      let answered = false;
      stat(${JSON.stringify(dir)}, () => { answered = true; release('answered'); });
      const watch = setInterval(() => { if (!answered && starved()) { clearInterval(watch); release('starved'); } }, 5);
    `;
    const { UV_THREADPOOL_SIZE: _inherited, ...inherited } = process.env;
    const run = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], {
      env: { ...inherited, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim() === 'answered';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('thread pool size (thread-pool.ts)', function () {
  this.timeout(30_000);

  it("leaves libuv's default of four threads when not imported (the probe's own control)", function () {
    assert.equal(poolExceeds(3, { importFirst: false }), true);
    assert.equal(poolExceeds(4, { importFirst: false }), false);
  });

  it('imported first, gives the process eight threads', function () {
    assert.equal(poolExceeds(7, { importFirst: true }), true);
    assert.equal(poolExceeds(8, { importFirst: true }), false);
  });

  it('keeps a size the environment already sets', function () {
    assert.equal(poolExceeds(2, { importFirst: true, env: { UV_THREADPOOL_SIZE: '2' } }), false);
  });
});
