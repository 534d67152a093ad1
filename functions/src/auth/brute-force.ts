/**
 * Brute-force protection for password logins (rate-limiter-flexible on the document store, so
 * it holds across instances). Failed logins are counted three ways:
 *   - consecutive failures for one email from one IP: 10, then that pair waits out the hour
 *     (a success resets it);
 *   - failures from one IP, whatever the email: 100 a day (password spraying);
 *   - failures on one account, from anywhere: 100 an hour (distributed guessing).
 * A login is refused with 429 and Retry-After while any of its counters is at its limit,
 * before the password is looked at, whether or not the account exists.
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitedError } from '../pipeline/errors.ts';
import type { DocumentStore } from '../store/port.ts';
import { RateLimiterDocumentStore } from '../store/rate-limiter-store.ts';

const HOUR = 60 * 60;
const DAY = 24 * HOUR;

interface Counter {
  limiter: RateLimiterAbstract;
  points: number;
  key: (email: string, ip: string) => string;
}

export interface LoginGuard {
  /** Throws 429 while any counter for this email or IP is at its limit. */
  check(email: string, ip: string): Promise<void>;
  recordFailure(email: string, ip: string): Promise<void>;
  recordSuccess(email: string, ip: string): Promise<void>;
}

export function createLoginGuard(store: DocumentStore): LoginGuard {
  const counter = (name: string, points: number, duration: number, key: Counter['key']): Counter => ({
    limiter: new RateLimiterDocumentStore({ store, keyPrefix: `login:${name}`, points, duration }),
    points,
    key,
  });
  const consecutive = counter('email-ip', 10, HOUR, (email, ip) => `${email}|${ip}`);
  const counters = [consecutive, counter('ip', 100, DAY, (_, ip) => ip), counter('email', 100, HOUR, (email) => email)];

  return {
    async check(email, ip) {
      const states = await Promise.all(counters.map((c) => c.limiter.get(c.key(email, ip))));
      const waits = states
        .map((state, i) => (state && state.consumedPoints >= counters[i]!.points ? state.msBeforeNext : 0))
        .filter((ms) => ms > 0);
      if (waits.length > 0) {
        const retryAfter = Math.max(1, Math.ceil(Math.max(...waits) / 1000));
        throw new RateLimitedError(retryAfter, {}, 'Too many failed sign-ins. Try again later.');
      }
    },
    async recordFailure(email, ip) {
      await Promise.all(counters.map((c) => c.limiter.penalty(c.key(email, ip), 1)));
    },
    async recordSuccess(email, ip) {
      await consecutive.limiter.delete(consecutive.key(email, ip));
    },
  };
}

const guards = new WeakMap<DocumentStore, LoginGuard>();

/** One guard per store, kept for the life of the process. */
export function loginGuardFor(store: DocumentStore): LoginGuard {
  let guard = guards.get(store);
  if (!guard) {
    guard = createLoginGuard(store);
    guards.set(store, guard);
  }
  return guard;
}
