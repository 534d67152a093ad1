/**
 * Deadlines for store calls. A store that stops answering must not hold a request until the
 * platform cuts it (Cloud Functions at its timeout: a bare error, no Retry-After): each call
 * gets `deadlineMs`, after which it fails with StoreUnavailableError, which the error mapper
 * answers 503 with Retry-After.
 *
 * The deadline answers the caller; it cannot stop the work (a client library's request is not
 * always cancellable), which goes on until it ends by itself. So a driver bounds that work too:
 * its client's own timeouts and retries, and its checkpoints (`assertNotPassed`: nothing new is
 * started once the deadline has passed). Writes already sent are the exception: while the
 * driver holds the deadline (`hold`), for a commit that has its own, shorter, timeout, the
 * caller waits for the outcome, since telling it "unavailable, nothing was changed" while the
 * writes may still land would be a lie.
 *
 * `BoundedCalls` counts what is still running: past `maxOutstanding` such calls a new one fails
 * at once, so calls hung on a store that does not answer cannot pile up without bound.
 */
import { StoreUnavailableError } from './errors.ts';

/** The moment one store call must be answered by. */
export class Deadline {
  /** The whole budget, in milliseconds. */
  readonly ms: number;
  readonly #endsAt: number;
  readonly #store: string;
  #holds = 0;
  readonly #whenReleased: (() => void)[] = [];

  constructor(ms: number, store: string) {
    this.ms = ms;
    this.#endsAt = performance.now() + ms;
    this.#store = store;
  }

  remainingMs(): number {
    return this.#endsAt - performance.now();
  }

  /** A checkpoint: throws StoreUnavailableError once the deadline has passed, so no new step is started. */
  assertNotPassed(step: string): void {
    if (this.remainingMs() <= 0) throw this.exceeded(step);
  }

  exceeded(operation: string): StoreUnavailableError {
    return new StoreUnavailableError(`${this.#store}: ${operation} did not complete within ${this.ms} ms`);
  }

  /**
   * Keeps the deadline from failing the call until the returned function is called: for a
   * step whose outcome the caller must hear (a commit already sent), and which ends by itself
   * within its own timeout.
   */
  hold(): () => void {
    this.#holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      if (this.#holds > 0) return;
      // Later, not now: the step's outcome is still on its way to the caller.
      for (const then of this.#whenReleased.splice(0)) setImmediate(then);
    };
  }

  get held(): boolean {
    return this.#holds > 0;
  }

  /** Calls `then` once nothing holds the deadline. */
  afterHolds(then: () => void): void {
    if (this.held) this.#whenReleased.push(then);
    else then();
  }
}

export interface BoundedCallsOptions {
  /** Names the store in error messages, e.g. `firestore`. */
  store: string;
  /** Longest one call may take before it fails with StoreUnavailableError. */
  deadlineMs: number;
  /** Calls still running (answered or not) past which a new one fails at once. */
  maxOutstanding: number;
}

/** Runs each call of one store under its deadline, and refuses new calls while too many are still running. */
export class BoundedCalls {
  readonly deadlineMs: number;
  readonly #store: string;
  readonly #maxOutstanding: number;
  readonly #idleWaiters = new Set<() => void>();
  #outstanding = 0;

  constructor(options: BoundedCallsOptions) {
    if (!(Number.isInteger(options.deadlineMs) && options.deadlineMs > 0)) throw new TypeError('deadlineMs must be a positive integer');
    if (!(Number.isInteger(options.maxOutstanding) && options.maxOutstanding > 0)) {
      throw new TypeError('maxOutstanding must be a positive integer');
    }
    this.#store = options.store;
    this.deadlineMs = options.deadlineMs;
    this.#maxOutstanding = options.maxOutstanding;
  }

  /** Calls started and not yet ended, including those whose caller was already told they failed. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * Settles as `work` does, or rejects with StoreUnavailableError at the deadline (or, if `work`
   * holds it then, once released), whichever comes first. `work` receives the deadline, to stop
   * at its own checkpoints once it has passed.
   */
  run<T>(operation: string, work: (deadline: Deadline) => Promise<T>): Promise<T> {
    if (this.#outstanding >= this.#maxOutstanding) {
      return Promise.reject(new StoreUnavailableError(`${this.#store}: ${this.#outstanding} calls are still waiting for the store; ${operation} refused`));
    }
    const deadline = new Deadline(this.deadlineMs, this.#store);
    this.#outstanding += 1;
    const running = Promise.resolve().then(() => work(deadline));
    running.then(this.#ended, this.#ended);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => deadline.afterHolds(() => reject(deadline.exceeded(operation))), this.deadlineMs);
      running.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Resolves once no call is running, or after `timeoutMs`, whichever comes first. */
  idle(timeoutMs: number): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#idleWaiters.add(done);
    });
  }

  readonly #ended = (): void => {
    this.#outstanding -= 1;
    if (this.#outstanding === 0) for (const waiter of [...this.#idleWaiters]) waiter();
  };
}
