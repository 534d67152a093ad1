/**
 * A bounded line for costly work (scrypt derivations and password-strength checks in auth/,
 * image decoding in uploads/): at most `concurrency` jobs run at once, at most `maxWaiting` wait
 * their turn (first come, first served), and no job waits longer than `maxWaitMs`. One more is
 * refused at once with WorkQueueBusyError, which callers answer as 503 with Retry-After: under a
 * flood, a few requests are told to come back instead of every request (and every other user)
 * waiting, or memory running out.
 */

export interface WorkQueueOptions {
  /** Jobs that run at the same time (an integer, at least 1). */
  concurrency: number;
  /** Jobs that may wait for a turn (0: none); one more is refused. */
  maxWaiting: number;
  /** A job still waiting after this long is refused, never started. Default: no limit. */
  maxWaitMs?: number;
}

/** The job was not started and will not be: the line was full, or its turn did not come in time. */
export class WorkQueueBusyError extends Error {
  override name = 'WorkQueueBusyError';
  readonly reason: 'full' | 'waited too long';

  constructor(reason: 'full' | 'waited too long', options: WorkQueueOptions) {
    super(`work queue busy (${reason}: ${options.concurrency} running, ${options.maxWaiting} waiting)`);
    this.name = 'WorkQueueBusyError';
    this.reason = reason;
  }
}

export interface WorkQueue {
  /** Runs `job` when its turn comes; rejects with WorkQueueBusyError, without running it, if there is no room. */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Jobs running now. */
  readonly running: number;
  /** Jobs waiting for a turn now. */
  readonly waiting: number;
}

const OPTION_NAMES = new Set(['concurrency', 'maxWaiting', 'maxWaitMs']);

function checkOptions(options: WorkQueueOptions): void {
  const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name));
  if (unknown.length > 0) throw new TypeError(`unknown work-queue option: ${unknown.join(', ')}`);
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new TypeError('concurrency must be an integer of at least 1');
  if (!Number.isInteger(options.maxWaiting) || options.maxWaiting < 0) throw new TypeError('maxWaiting must be an integer of at least 0');
  if (options.maxWaitMs !== undefined && !(Number.isFinite(options.maxWaitMs) && options.maxWaitMs > 0)) {
    throw new TypeError('maxWaitMs must be a positive number of milliseconds');
  }
}

interface Waiter {
  start(): void;
  timer: NodeJS.Timeout | undefined;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  checkOptions(options);
  const { concurrency, maxWaiting, maxWaitMs } = options;
  let running = 0;
  const line: Waiter[] = [];

  const release = () => {
    const next = line.shift();
    if (!next) {
      running -= 1;
      return;
    }
    clearTimeout(next.timer);
    next.start(); // the slot passes on: `running` stays the same
  };

  const turn = () =>
    new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, timer: undefined };
      if (maxWaitMs !== undefined) {
        waiter.timer = setTimeout(() => {
          line.splice(line.indexOf(waiter), 1);
          reject(new WorkQueueBusyError('waited too long', options));
        }, maxWaitMs);
        // A waiting job alone does not keep the process alive; the running ones do, if they must.
        waiter.timer.unref();
      }
      line.push(waiter);
    });

  return {
    async run<T>(job: () => Promise<T>): Promise<T> {
      if (running < concurrency) running += 1;
      else if (line.length < maxWaiting) await turn();
      else throw new WorkQueueBusyError('full', options);
      try {
        return await job();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return line.length;
    },
  };
}
