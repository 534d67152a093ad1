/**
 * Guessing limits for passwords and second factors (rate-limiter-flexible on the document
 * store, so they hold across instances). An attempt reserves one failure on each of its
 * counters, atomically, before the secret is looked at, and gives it back when the secret was
 * right: simultaneous guesses cannot all slip past a count that is only checked (the count of
 * each is in the store before any is judged).
 *
 * Password logins from a device that has not signed in to the account before:
 *   - consecutive failures for one email from one IP: 10, then that pair waits out the hour;
 *   - failures from one IP, whatever the email: 100 a day (password spraying);
 *   - failures on one account from unknown devices: 100 an hour (distributed guessing).
 * Password logins that present the account's device token (see device-tokens.ts):
 *   - consecutive failures on that device: 10 an hour;
 *   - the IP's 100 a day.
 * So strangers can lock an account out of new devices, never out of the owner's own.
 *
 * Second factors (TOTP and recovery codes, at sign-in and wherever a code is asked for):
 *   - failures on one account: 10 an hour, whatever the challenge;
 *   - failures from one IP: 100 a day.
 *
 * A spent counter refuses with 429 and Retry-After, whether or not the account exists.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import { RateLimitedError } from '../errors/api-error.ts';
import type { DocumentStore } from '../store/port.ts';
import { RateLimiterDocumentStore } from '../store/rate-limiter-store.ts';

const HOUR = 60 * 60;
const DAY = 24 * HOUR;

/**
 * One reserved attempt. On a wrong secret, nothing: the points stay. `succeeded` when the
 * secret was right; `release` when it was never judged (the server failed first), so a fault
 * does not count as a guess.
 */
export interface Attempt {
  succeeded(): Promise<void>;
  release(): Promise<void>;
}

export interface LoginAttempt {
  email: string;
  ip: string;
  /** The device id of a valid device token for this email, if the login presented one. */
  device?: string | undefined;
}

export interface MfaAttempt {
  uid: string;
  ip: string;
}

export interface LoginGuard {
  /** Reserves the attempt, or refuses (RateLimitedError) while any of its counters is spent. */
  begin(attempt: LoginAttempt): Promise<Attempt>;
}

export interface MfaGuard {
  begin(attempt: MfaAttempt): Promise<Attempt>;
}

/** A counter, and what a success does to it: forget the whole count, or give back the one point. */
interface Counter {
  limiter: RateLimiterAbstract;
  onSuccess: 'reset' | 'refund';
}

/** Counters on the document store under `prefix` (the mail limits count with them too). */
export function counters(store: DocumentStore, prefix: string) {
  return (name: string, points: number, duration: number, onSuccess: Counter['onSuccess']): Counter => ({
    // Exact on every consume (a lease would let other instances' guesses go uncounted), and
    // judged in the store, where refunds are seen, not by a block in memory.
    limiter: new RateLimiterDocumentStore({ store, keyPrefix: `${prefix}:${name}`, points, duration, leases: false, blockInMemory: false }),
    onSuccess,
  });
}

/** Consumes one point on each counter; when any is spent, gives back the others' and refuses (RateLimitedError). */
export async function reserve(entries: [Counter, string][], what: string): Promise<Attempt> {
  const results = await Promise.allSettled(entries.map(([counter, key]) => counter.limiter.consume(key)));
  const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (refused.length > 0) {
    await Promise.all(entries.flatMap(([counter, key], i) => (results[i]!.status === 'fulfilled' ? [counter.limiter.reward(key)] : [])));
    // A store fault (the limiter rejects with an Error), not a spent counter: it goes on as it is.
    const failure = refused.find((reason) => !(reason instanceof RateLimiterRes)) as Error | undefined;
    if (failure !== undefined) throw failure;
    const waits = (refused as RateLimiterRes[]).map((res) => res.msBeforeNext);
    throw new RateLimitedError(Math.max(1, Math.ceil(Math.max(...waits) / 1000)), what);
  }
  return {
    async succeeded() {
      await Promise.all(entries.map(([counter, key]) => (counter.onSuccess === 'reset' ? counter.limiter.delete(key) : counter.limiter.reward(key))));
    },
    async release() {
      await Promise.all(entries.map(([counter, key]) => counter.limiter.reward(key)));
    },
  };
}

/**
 * Judges a secret within a reserved attempt: a thrown error (a store or hashing fault, never a
 * wrong secret) releases the attempt, best effort, and goes on to the caller.
 */
export async function judged<T>(attempt: Attempt, judge: () => Promise<T>): Promise<T> {
  try {
    return await judge();
  } catch (error) {
    await attempt.release().catch(() => undefined);
    throw error;
  }
}

export function createLoginGuard(store: DocumentStore): LoginGuard {
  const counter = counters(store, 'login');
  const pair = counter('email-ip', 10, HOUR, 'reset');
  const ip = counter('ip', 100, DAY, 'refund');
  const account = counter('email', 100, HOUR, 'refund');
  const device = counter('device', 10, HOUR, 'reset');
  return {
    begin({ email, ip: address, device: id }) {
      const entries: [Counter, string][] =
        id === undefined
          ? [
              [pair, `${email}|${address}`],
              [ip, address],
              [account, email],
            ]
          : [
              [device, id],
              [ip, address],
            ];
      return reserve(entries, 'failed sign-ins');
    },
  };
}

export function createMfaGuard(store: DocumentStore): MfaGuard {
  const counter = counters(store, 'mfa');
  // Refunded, not reset, on success: the owner signing in must not hand a guesser a fresh ten.
  const account = counter('account', 10, HOUR, 'refund');
  const ip = counter('ip', 100, DAY, 'refund');
  return {
    begin({ uid, ip: address }) {
      return reserve(
        [
          [account, uid],
          [ip, address],
        ],
        'wrong codes',
      );
    },
  };
}

const guards = new WeakMap<DocumentStore, { login: LoginGuard; mfa: MfaGuard }>();

function guardsFor(store: DocumentStore) {
  let found = guards.get(store);
  if (!found) {
    found = { login: createLoginGuard(store), mfa: createMfaGuard(store) };
    guards.set(store, found);
  }
  return found;
}

/** One guard per store, kept for the life of the process. */
export function loginGuardFor(store: DocumentStore): LoginGuard {
  return guardsFor(store).login;
}

export function mfaGuardFor(store: DocumentStore): MfaGuard {
  return guardsFor(store).mfa;
}
