/**
 * zxcvbn-ts, off the main thread. One worker thread (password-worker.ts) does the checks, one at
 * a time; it is started on the first check, not at import (most processes never judge a
 * password), reused for every later one, and unref'd whenever it is idle, so it never keeps the
 * process alive. Every check has a deadline: a worker that overruns it is ended (the next check
 * starts a fresh one), and one that crashes is forgotten; either way the check is answered at
 * once with PasswordCheckUnavailableError (503, Retry-After), never left to hang. Checks beyond
 * the line (work-queue.ts) are refused with AuthBusyError (503) rather than queued without end.
 */
import { Worker } from 'node:worker_threads';
import { AuthBusyError, PasswordCheckUnavailableError } from './busy-errors.ts';
import type { PasswordWorkerData, StrengthReply, StrengthRequest } from './password-worker.ts';
import { createWorkQueue, WorkQueueBusyError } from '../work-queue.ts';

export interface Strength {
  /** zxcvbn's score, 0 (guessable in under 10^3 tries) to 4 (at least 10^10). */
  score: number;
  warning: string | null;
  suggestions: string[];
}

export interface StrengthCheckerOptions {
  /** Characters judged from the start of the password (see judgedPart; zxcvbn is told the same). Default 64. */
  maxLength?: number;
  /**
   * A check running longer than this is abandoned and its worker ended. Default 8000 ms: a check
   * takes well under a second (a few on a starved CPU), so only a hung worker reaches it.
   */
  deadlineMs?: number;
  /** Checks that may wait for the worker; one more is refused. Default 8. */
  maxWaiting?: number;
  /**
   * A check still waiting for its turn after this long is refused. Default 10000 ms: with the
   * deadline and the hash's own bounds (passwords.ts), a registration ends within the function's 30 s.
   */
  maxWaitMs?: number;
  /** Starts a worker (default: password-worker.ts); specs inject a hanging or crashing one. */
  spawn?: (data: PasswordWorkerData) => Worker;
}

export interface StrengthChecker {
  check(password: string, userInputs: string[]): Promise<Strength>;
  /** Ends the worker, if one runs; a later check starts another. */
  close(): Promise<void>;
}

/**
 * Locally node runs the .ts sources (type stripping); deployed, functions/lib holds tsc's .js,
 * and tsc rewrites import specifiers but not URLs: pick the worker by this module's own extension.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './password-worker.ts' : './password-worker.js', import.meta.url);

export function spawnPasswordWorker(data: PasswordWorkerData): Worker {
  // A worker inherits node's flags; --input-type (of a `node -e` parent) would refuse its file.
  const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--input-type'));
  return new Worker(WORKER_URL, { workerData: data, execArgv });
}

/**
 * The part of a password zxcvbn judges: its first `maxLength` characters, except that a password
 * made of one chunk repeated is cut after a whole number of chunks. Cut mid-chunk, the stray
 * tail would look like extra randomness: "Summer2026!!" six times scores 3 whole, but 4 when
 * cut at 64 characters; cut at 60 (five times), 3 again.
 */
export function judgedPart(password: string, maxLength: number): string {
  const characters = [...password];
  if (characters.length <= maxLength) return password;
  // The shortest period, from the longest border (Knuth–Morris–Pratt's failure function).
  const border = new Array<number>(characters.length).fill(0);
  for (let i = 1, k = 0; i < characters.length; i += 1) {
    while (k > 0 && characters[i] !== characters[k]) k = border[k - 1]!;
    if (characters[i] === characters[k]) k += 1;
    border[i] = k;
  }
  const period = characters.length - border[characters.length - 1]!;
  const cut = period <= maxLength / 2 ? period * Math.floor(maxLength / period) : maxLength;
  return characters.slice(0, cut).join('');
}

const OPTION_NAMES = new Set(['maxLength', 'deadlineMs', 'maxWaiting', 'maxWaitMs', 'spawn']);

export function createStrengthChecker(options: StrengthCheckerOptions = {}): StrengthChecker {
  const unknown = Object.keys(options).filter((name) => !OPTION_NAMES.has(name));
  if (unknown.length > 0) throw new TypeError(`unknown strength-checker option: ${unknown.join(', ')}`);
  const { maxLength = 64, deadlineMs = 8000, maxWaiting = 8, maxWaitMs = 10_000, spawn = spawnPasswordWorker } = options;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new TypeError('maxLength must be an integer of at least 1');
  if (!(Number.isFinite(deadlineMs) && deadlineMs > 0)) throw new TypeError('deadlineMs must be a positive number of milliseconds');
  // One worker: one check at a time, the others wait their turn here, where their wait is bounded.
  const line = createWorkQueue({ concurrency: 1, maxWaiting, maxWaitMs });
  let worker: Worker | undefined;
  let nextId = 0;

  function started(): Worker {
    if (worker) return worker;
    const fresh = spawn({ maxLength });
    fresh.unref();
    // Always listened to: a worker that dies between checks must not take the process with it.
    const forget = () => {
      if (worker === fresh) worker = undefined;
    };
    fresh.on('error', forget);
    fresh.on('exit', forget);
    worker = fresh;
    return fresh;
  }

  function checkInWorker(password: string, userInputs: string[]): Promise<Strength> {
    return new Promise((resolve, reject) => {
      let current: Worker;
      try {
        current = started();
      } catch (error) {
        reject(new PasswordCheckUnavailableError(error));
        return;
      }
      const id = (nextId += 1);
      const settle = () => {
        clearTimeout(timer);
        current.off('message', onMessage);
        current.off('error', onFailure);
        current.off('exit', onFailure);
        current.unref();
      };
      const fail = (cause: unknown) => {
        settle();
        if (worker === current) worker = undefined;
        reject(new PasswordCheckUnavailableError(cause));
      };
      const onMessage = (reply: StrengthReply) => {
        if (reply.id !== id) return;
        settle();
        if ('error' in reply) reject(new PasswordCheckUnavailableError(new Error(reply.error)));
        else resolve({ score: reply.score, warning: reply.warning, suggestions: reply.suggestions });
      };
      const onFailure = (cause: unknown) => fail(cause instanceof Error ? cause : new Error(`password worker exited (code ${String(cause)})`));
      const timer = setTimeout(() => {
        fail(new Error(`password check overran its ${deadlineMs} ms deadline`));
        current.terminate().catch(() => {});
      }, deadlineMs);
      timer.unref(); // the referenced worker holds the process, and a hung one is ended all the same
      current.on('message', onMessage);
      current.on('error', onFailure);
      current.on('exit', onFailure);
      // Referenced while a check is in flight (as its 'message' listener also makes it): a process
      // awaiting a verdict (the admin CLI) waits for it. Idle, without listeners, it holds nothing.
      current.ref();
      current.postMessage({ id, password, userInputs } satisfies StrengthRequest);
    });
  }

  return {
    async check(password, userInputs) {
      const judged = judgedPart(password, maxLength);
      try {
        return await line.run(() => checkInWorker(judged, userInputs));
      } catch (error) {
        if (error instanceof WorkQueueBusyError) throw new AuthBusyError(error);
        throw error;
      }
    },
    async close() {
      const running = worker;
      worker = undefined;
      await running?.terminate();
    },
  };
}
