/**
 * The one way the API calls out to another service. Each dependency gets its own client, made
 * once per process, with:
 * - a deadline on the whole call, retries included, and a shorter one on each attempt;
 * - retries of idempotent calls (two by default, with jittered exponential backoff) after a
 *   refused or dropped connection, a timeout, a 5xx, 408 or 429, or an answer that does not
 *   read as expected;
 * - a circuit breaker (cockatiel): after 5 failed calls in a row the dependency is taken for
 *   dead for 30 s, and its calls fail at once instead of costing every request the deadline;
 *   then one call tries it again;
 * - for what `get` is told to cache (key sets), the answer kept as long as its Cache-Control
 *   allows (http-cache-semantics), one fetch at a time per URL, and a kept answer past its age
 *   served while the dependency fails (up to `maxStaleMs`).
 * Whatever goes wrong, the caller gets an ApiError with the dependency's own 503 code and
 * Retry-After: never a hang, never a 500. Answers are read up to a size bound.
 */
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel';
import CachePolicy from 'http-cache-semantics';
import type { Logger } from 'winston';
import { ApiError } from '../errors/api-error.ts';
import type { ErrorCode } from '../errors/catalog.ts';

/** The catalog's codes for a dependency that failed (each a 503). */
export type DependencyErrorCode = Extract<ErrorCode, 'breached_password_check_unavailable' | 'app_check_unavailable' | 'firebase_auth_unavailable'>;

export interface OutboundOptions {
  /** The dependency's name, in logs. */
  dependency: string;
  /** What a failure answers. */
  unavailable: DependencyErrorCode;
  /** The whole call, retries and their waits included. Default 3000 ms. */
  deadlineMs?: number;
  /** One attempt. Default 1500 ms. */
  attemptMs?: number;
  /** Retries of an idempotent call. Default 2. */
  retries?: number;
  /** Failed calls in a row that take the dependency for dead. Default 5. */
  breakAfter?: number;
  /** How long a dependency taken for dead is not called. Default 30 s. */
  halfOpenAfterMs?: number;
  /** How long past its age a cached answer may still stand in while the dependency fails. Default 24 h. */
  maxStaleMs?: number;
  /** The largest answer read. Default 1 MiB. */
  maxBytes?: number;
  /** Which errors of a `call` are the dependency failing; others (a verdict on the input) pass through as they are, and do not count against it. Default: every error. */
  isFailure?: (error: unknown) => boolean;
  logger?: Pick<Logger, 'warn' | 'info'>;
}

/** An answer as `get`'s reader sees it. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export interface GetOptions<T> {
  /** The value in a 2xx answer; throwing means the answer is garbage (a failure, retried). */
  read: (answer: Answer) => T;
  headers?: Record<string, string>;
  /** Keep the value as long as the answer's Cache-Control allows. */
  cache?: boolean;
}

export interface CallOptions {
  /** Safe to repeat: retried after a failure. */
  idempotent: boolean;
}

export interface OutboundClient {
  /** GETs `url` and reads its answer. */
  get<T>(url: string, options: GetOptions<T>): Promise<T>;
  /** Any other call (an SDK's), under the same deadline, breaker and retries; `signal` aborts when the attempt is given up. */
  call<T>(work: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T>;
}

/** A 2xx that could not be read, or any other status: the dependency failed this attempt. */
export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
  /** Worth another attempt. */
  readonly retryable: boolean;

  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.retryable = retryable;
  }
}

const RETRYABLE_STATUS = (status: number) => status >= 500 || status === 408 || status === 429;

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) throw new UpstreamFailure(`answer of ${declared} bytes, over ${maxBytes}`, false);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader?.cancel();
      throw new UpstreamFailure(`answer over ${maxBytes} bytes`, false);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Cached {
  policy: CachePolicy;
  value: unknown;
  /** Epoch ms after which it may no longer stand in for a failing dependency. */
  staleUntil: number;
}

export function createOutboundClient(options: OutboundOptions): OutboundClient {
  const deadlineMs = options.deadlineMs ?? 3000;
  const attemptMs = options.attemptMs ?? 1500;
  const halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
  const maxStaleMs = options.maxStaleMs ?? 24 * 3_600_000;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const { dependency, logger } = options;

  const isFailure = options.isFailure ?? (() => true);
  const failure = (error: unknown) => error instanceof TaskCancelledError || error instanceof UpstreamFailure || (!(error instanceof BrokenCircuitError) && isFailure(error));

  let openedAt = 0;
  const breaker = circuitBreaker(handleWhen(failure), { halfOpenAfter: halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breakAfter ?? 5) });
  breaker.onBreak(() => {
    openedAt = Date.now();
    logger?.warn('dependency failing: calls refused at once for a while', { event: 'outbound.circuit_open', dependency, seconds: halfOpenAfterMs / 1000 });
  });
  breaker.onReset(() => logger?.info('dependency answering again', { event: 'outbound.circuit_closed', dependency }));

  // Outermost first: the deadline over everything, retries, the breaker judging each attempt, the attempt's own deadline.
  const policyFor = (maxAttempts: number): IPolicy => {
    const retries = retry(
      handleWhen((error) => failure(error) && (!(error instanceof UpstreamFailure) || error.retryable)),
      { maxAttempts, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) },
    );
    return wrap(timeout(deadlineMs, TimeoutStrategy.Aggressive), retries, breaker, timeout(attemptMs, TimeoutStrategy.Aggressive));
  };
  const policies = { idempotent: policyFor(options.retries ?? 2), once: policyFor(0) };

  function unavailable(cause: unknown): ApiError {
    const open = cause instanceof BrokenCircuitError;
    const retryAfterSeconds = open ? Math.max(1, Math.ceil((openedAt + halfOpenAfterMs - Date.now()) / 1000)) : 1;
    if (!open) logger?.warn('dependency call failed', { event: 'outbound.failed', dependency, reason: cause instanceof Error ? cause.message : String(cause) });
    return new ApiError(options.unavailable, { retryAfterSeconds, cause });
  }

  async function run<T>(work: (signal: AbortSignal) => Promise<T>, { idempotent }: CallOptions): Promise<T> {
    try {
      return await policies[idempotent ? 'idempotent' : 'once'].execute(({ signal }) => work(signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError || failure(error)) throw unavailable(error);
      throw error;
    }
  }

  async function fetchOnce<T>(url: string, get: GetOptions<T>, signal: AbortSignal): Promise<{ value: T; response: Response }> {
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'application/json', ...get.headers }, signal, redirect: 'error' });
    } catch (error) {
      throw new UpstreamFailure(`no answer: ${(error as Error).message}`, true, { cause: error });
    }
    const text = await readCapped(response, maxBytes).catch((error: unknown) => {
      throw error instanceof UpstreamFailure ? error : new UpstreamFailure(`answer cut short: ${(error as Error).message}`, true, { cause: error });
    });
    if (response.status < 200 || response.status > 299) throw new UpstreamFailure(`answered ${response.status}`, RETRYABLE_STATUS(response.status));
    try {
      return { value: get.read({ status: response.status, headers: response.headers, text }), response };
    } catch (error) {
      throw new UpstreamFailure(`answer not as expected: ${(error as Error).message}`, true, { cause: error });
    }
  }

  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<unknown>>();
  const request = (url: string) => ({ url, method: 'GET', headers: {} });

  async function cachedGet<T>(url: string, get: GetOptions<T>): Promise<T> {
    const kept = cache.get(url);
    if (kept && kept.policy.satisfiesWithoutRevalidation(request(url))) return kept.value as T;
    const pending = inFlight.get(url);
    if (pending) return pending as Promise<T>;
    const fetching: Promise<T> = run((signal) => fetchOnce(url, get, signal), { idempotent: true })
      .then(({ value, response }) => {
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => (headers[name] = value));
        const policy = new CachePolicy(request(url), { status: response.status, headers }, { shared: false });
        if (policy.storable() && policy.timeToLive() > 0) cache.set(url, { policy, value, staleUntil: Date.now() + policy.timeToLive() + maxStaleMs });
        return value;
      })
      .catch((error: unknown) => {
        if (kept && Date.now() < kept.staleUntil) {
          logger?.warn('dependency failing: a kept answer past its age stands in', { event: 'outbound.stale', dependency });
          return kept.value as T;
        }
        throw error;
      })
      .finally(() => inFlight.delete(url));
    inFlight.set(url, fetching);
    return fetching;
  }

  return {
    async get(url, get) {
      if (get.cache) return cachedGet(url, get);
      return (await run((signal) => fetchOnce(url, get, signal), { idempotent: true })).value;
    },
    call: run,
  };
}
