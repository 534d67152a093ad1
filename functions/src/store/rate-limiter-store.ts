/**
 * A rate-limiter-flexible store on the document-store port, so limits hold on both drivers
 * (and across instances, on Firestore). It follows the library's store contract: a subclass
 * of RateLimiterStoreAbstract with `_upsert`, `_get`, `_delete` and `_getRateLimiterRes`.
 * A counter is one document whose `expiresAt` ends its window, so expiry cleans it up.
 *
 * Leases keep the store off the hot path: when a consume has to go to the store, it also
 * reserves a few of the points that remain (an eighth, at most 64) for this instance, and the
 * next consumes on that key draw from the reservation in memory. Every admitted request is
 * still backed by a point added to the stored counter, so no instance can admit more than the
 * limit; the price is that points one instance reserved are not available to another until
 * the window ends. One lease request per key is in flight at a time, so a burst cannot
 * reserve more than it uses; when it fails, the consumes waiting on it fail with it.
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import RateLimiterStoreAbstract from 'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js';
import type { DocumentStore } from './port.ts';

interface Counter {
  [field: string]: number;
  points: number;
}

interface Lease {
  /** Points this instance has counted on the key, as the stored counter would show them. */
  consumed: number;
  /** Reserved in the store, not yet used. */
  available: number;
  expiresAt: number | undefined;
}

export interface DocumentStoreLimiterOptions {
  store: DocumentStore;
  /** Collection holding the counters. */
  collection?: string;
  keyPrefix: string;
  points: number;
  /** Window length in seconds. */
  duration: number;
}

const LEASE_SHARE = 8;
const LEASE_MAX = 64;

export class RateLimiterDocumentStore extends RateLimiterStoreAbstract {
  readonly #store: DocumentStore;
  readonly #collection: string;
  readonly #leases = new Map<string, Lease>();
  readonly #leasing = new Map<string, Promise<unknown>>();

  constructor(options: DocumentStoreLimiterOptions) {
    super({
      storeClient: options.store,
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.duration,
      // Once a key has used its points it is refused from memory until its window ends,
      // so a flood costs no store round trips.
      inMemoryBlockOnConsumed: options.points,
    });
    this.#store = options.store;
    this.#collection = options.collection ?? 'rateLimits';
  }

  /** Adds `points` to the key's counter, starting a new window when none is live. */
  async _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<Counter> {
    if (forceExpire || points <= 0) return this.#writeThrough(rlKey, points, msDuration, forceExpire);
    for (;;) {
      const fromLease = this.#takeFromLease(rlKey, points);
      if (fromLease) return fromLease;
      const inFlight = this.#leasing.get(rlKey);
      if (!inFlight) break;
      // Its failure is ours too: a store that just failed (past its deadline, say) is not
      // asked again by each waiter in turn, which would hold the last of k waiters k deadlines.
      await inFlight;
    }
    const leasing = this.#lease(rlKey, points, msDuration);
    this.#leasing.set(rlKey, leasing);
    try {
      return await leasing;
    } finally {
      this.#leasing.delete(rlKey);
    }
  }

  async _get(rlKey: string): Promise<Counter | null> {
    const counter = await this.#store.get<Counter>(this.#collection, documentId(rlKey));
    if (!counter) return null;
    return { ...counter, points: counter.points - (this.#liveLease(rlKey)?.available ?? 0) };
  }

  async _delete(rlKey: string): Promise<boolean> {
    this.#leases.delete(rlKey);
    const id = documentId(rlKey);
    return this.#store.runTransaction(async (tx) => {
      const existed = (await tx.get(this.#collection, id)) !== null;
      if (existed) tx.delete(this.#collection, id);
      return existed;
    });
  }

  _getRateLimiterRes(_rlKey: string, changedPoints: number, counter: Counter): RateLimiterRes {
    const consumedPoints = counter.points;
    const msBeforeNext = counter.expiresAt === undefined ? -1 : Math.max(counter.expiresAt - Date.now(), 0);
    const remainingPoints = Math.max(this.points - consumedPoints, 0);
    return new RateLimiterRes(remainingPoints, msBeforeNext, consumedPoints, consumedPoints === changedPoints);
  }

  #liveLease(rlKey: string): Lease | undefined {
    const lease = this.#leases.get(rlKey);
    if (lease && lease.expiresAt !== undefined && lease.expiresAt <= Date.now()) {
      this.#leases.delete(rlKey);
      return undefined;
    }
    return lease;
  }

  #takeFromLease(rlKey: string, points: number): Counter | undefined {
    const lease = this.#liveLease(rlKey);
    if (!lease) return undefined;
    if (lease.available >= points) {
      lease.available -= points;
      lease.consumed += points;
    } else if (lease.consumed >= this.points) {
      // Already over the limit: the answer is a refusal, no need to count it in the store.
      lease.consumed += points;
    } else {
      return undefined;
    }
    return toCounter(lease.consumed, lease.expiresAt);
  }

  /** One store transaction: count `points` and reserve a share of what remains. */
  async #lease(rlKey: string, points: number, msDuration: number): Promise<Counter> {
    // What is left of the previous reservation goes back into the counter, and no concurrent
    // consume may draw on it meanwhile.
    const previous = this.#liveLease(rlKey);
    const handBack = previous?.available ?? 0;
    if (previous) previous.available = 0;
    const lease = await this.#store.runTransaction(async (tx): Promise<Lease> => {
      const id = documentId(rlKey);
      const current = await tx.get<Counter>(this.#collection, id);
      const used = (current ? current.points - handBack : 0) + points;
      const expiresAt = current ? current.expiresAt : msDuration > 0 ? Date.now() + msDuration : undefined;
      const reserve = Math.min(LEASE_MAX, Math.max(0, Math.floor((this.points - used) / LEASE_SHARE)));
      tx.set(this.#collection, id, toCounter(used + reserve, expiresAt));
      return { consumed: used, available: reserve, expiresAt };
    });
    // Only once committed: a transaction that is retried or fails reserves nothing.
    this.#leases.set(rlKey, lease);
    return toCounter(lease.consumed, lease.expiresAt);
  }

  /** block, set, reward and friends: straight to the store, handing back any reserved points. */
  #writeThrough(rlKey: string, points: number, msDuration: number, forceExpire: boolean): Promise<Counter> {
    const unused = this.#liveLease(rlKey)?.available ?? 0;
    this.#leases.delete(rlKey);
    return this.#store.runTransaction(async (tx) => {
      const id = documentId(rlKey);
      const current = forceExpire ? null : await tx.get<Counter>(this.#collection, id);
      const next = current
        ? toCounter(current.points - unused + points, current.expiresAt)
        : toCounter(points, msDuration > 0 ? Date.now() + msDuration : undefined);
      tx.set(this.#collection, id, next);
      return next;
    });
  }
}

function toCounter(points: number, expiresAt: number | undefined): Counter {
  return expiresAt === undefined ? { points } : { points, expiresAt };
}

/** Limiter keys hold `:` and IPv6 addresses; document ids may not hold `/`. */
function documentId(rlKey: string): string {
  return encodeURIComponent(rlKey);
}
