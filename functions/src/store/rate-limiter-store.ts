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
 *
 * Only `consume` leases. The counter keeps what is reserved apart (`reserved`), so `get` on
 * any instance reports points used, not points set aside; `penalty`, `reward`, `block`, `set`
 * and `delete` are single exact transactions. Counters that must be exact for every consume
 * too (the login guard's) turn leases off.
 */
import { createHash } from 'node:crypto';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import RateLimiterStoreAbstract from 'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js';
import { keyMemo } from './keys.ts';
import type { DocumentStore } from './port.ts';

interface Counter {
  [field: string]: number;
  /** Used and reserved: what the limit is enforced on. */
  points: number;
  /** Of `points`, how many instances hold in leases, not yet used as far as the store knows. */
  reserved: number;
}

interface Lease {
  /** Points this instance has counted on the key, as the stored counter would show them. */
  consumed: number;
  /** Reserved in the store, not yet used. */
  available: number;
  /** How many points the lease reserved when it was taken. */
  reserved: number;
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
  /** Reserve points in memory on consume (default true); false makes every consume one exact transaction. */
  leases?: boolean;
  /**
   * Refuse a key from memory once its points are used, until its window ends (default true),
   * so a flood costs no round trips. Off for counters that rewards move back under the limit.
   */
  blockInMemory?: boolean;
}

/** Marks the options of a consume: the only operation that may draw on a lease. */
const CONSUME = Symbol('consume');

const LEASE_SHARE = 8;
const LEASE_MAX = 64;

export class RateLimiterDocumentStore extends RateLimiterStoreAbstract {
  readonly #store: DocumentStore;
  readonly #collection: string;
  readonly #leases = new Map<string, Lease>();
  readonly #leasing = new Map<string, Promise<unknown>>();
  readonly #leaseEnabled: boolean;

  constructor(options: DocumentStoreLimiterOptions) {
    super({
      storeClient: options.store,
      keyPrefix: options.keyPrefix,
      points: options.points,
      duration: options.duration,
      // Once a key has used its points it is refused from memory until its window ends,
      // so a flood costs no store round trips.
      ...(options.blockInMemory === false ? {} : { inMemoryBlockOnConsumed: options.points }),
    });
    this.#store = options.store;
    this.#collection = options.collection ?? 'rateLimits';
    this.#leaseEnabled = options.leases ?? true;
  }

  /** The library's `${keyPrefix}:${key}`, one string per key: each consume looks it up in two Maps (blocked keys, leases). */
  readonly #keys = keyMemo((key) => super.getKey(key));

  override getKey(key: string | number): string {
    return typeof key === 'string' ? this.#keys(key) : super.getKey(key);
  }

  override consume(key: string | number, points = 1, options: Record<PropertyKey, unknown> = {}): Promise<RateLimiterRes> {
    return super.consume(key, points, { ...options, [CONSUME]: true });
  }

  // The library's own steps of a consume, which consumeFromLease runs as consume would.
  declare readonly inMemoryBlockOnConsumed: number | undefined;
  declare getInMemoryBlockMsBeforeExpire: (rlKey: string) => number;
  declare _afterConsume: (resolve: (res: RateLimiterRes) => void, reject: (res: RateLimiterRes) => void, rlKey: string, changedPoints: number, counter: Counter) => void;

  /**
   * A consume of one point that the lease answers from memory, at once — the same answer
   * `consume` would resolve or reject with, without its promises; undefined when only `consume`
   * can answer (no lease, or none left, or the key blocked in memory).
   */
  consumeFromLease(key: string): { admitted: boolean; res: RateLimiterRes } | undefined {
    // With these, the library's answer to a counted point is always given at once (see _afterConsume).
    if (!this.#leaseEnabled || this.inMemoryBlockOnConsumed !== this.points || this.execEvenly || this.blockDuration > 0) return undefined;
    const rlKey = this.getKey(key);
    if (this.getInMemoryBlockMsBeforeExpire(rlKey) > 0) return undefined;
    const counter = this.#takeFromLease(rlKey, 1);
    if (!counter) return undefined;
    this.#answer = undefined;
    this._afterConsume(this.#admit, this.#refuse, rlKey, 1, counter);
    const answer = this.#answer as { admitted: boolean; res: RateLimiterRes } | undefined;
    if (!answer) throw new Error('rate limiter: a leased point was not answered at once');
    return answer;
  }

  /** Where _afterConsume's answer to a leased point lands: made once, not two closures per consume. */
  #answer: { admitted: boolean; res: RateLimiterRes } | undefined;
  readonly #admit = (res: RateLimiterRes) => {
    this.#answer = { admitted: true, res };
  };
  readonly #refuse = (res: RateLimiterRes) => {
    this.#answer = { admitted: false, res };
  };

  /** Adds `points` to the key's counter, starting a new window when none is live. */
  async _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false, options: Record<PropertyKey, unknown> = {}): Promise<Counter> {
    const consuming = options[CONSUME] === true;
    if (forceExpire || points <= 0 || !consuming || !this.#leaseEnabled) return this.#writeThrough(rlKey, points, msDuration, forceExpire, consuming);
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

  /** Points used: what every instance has reserved and not (as far as the store knows) used is left out. */
  async _get(rlKey: string): Promise<Counter | null> {
    const stored = await this.#store.get<Counter>(this.#collection, documentId(rlKey));
    if (!stored) return null;
    return toCounter(stored.points - (stored.reserved ?? 0) + this.#ownUse(rlKey, stored.expiresAt), 0, stored.expiresAt);
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
    if (lease?.expiresAt !== undefined && lease.expiresAt <= Date.now()) {
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
    return toCounter(lease.consumed, 0, lease.expiresAt);
  }

  /** One store transaction: count `points` and reserve a share of what remains. */
  async #lease(rlKey: string, points: number, msDuration: number): Promise<Counter> {
    // What is left of the previous reservation goes back into the counter, and no concurrent
    // consume may draw on it meanwhile.
    const previous = this.#liveLease(rlKey);
    const available = previous?.available ?? 0;
    if (previous) previous.available = 0;
    const lease = await this.#store.runTransaction(async (tx): Promise<Lease> => {
      const id = documentId(rlKey);
      const current = await tx.get<Counter>(this.#collection, id);
      // The previous lease settles only against the window it was taken in: its unused points
      // go back, and the whole of it stops counting as reserved (what it used is now known used).
      const settles = current !== null && previous !== undefined && previous.expiresAt === current.expiresAt;
      const used = (current ? current.points - (settles ? available : 0) : 0) + points;
      const reservedElsewhere = current ? Math.max(0, (current.reserved ?? 0) - (settles ? previous.reserved : 0)) : 0;
      const expiresAt = current ? current.expiresAt : msDuration > 0 ? Date.now() + msDuration : undefined;
      const reserve = Math.min(LEASE_MAX, Math.max(0, Math.floor((this.points - used) / LEASE_SHARE)));
      tx.set(this.#collection, id, toCounter(used + reserve, reservedElsewhere + reserve, expiresAt));
      return { consumed: used, available: reserve, reserved: reserve, expiresAt };
    });
    // Only once committed: a transaction that is retried or fails reserves nothing.
    this.#leases.set(rlKey, lease);
    return toCounter(lease.consumed, 0, lease.expiresAt);
  }

  /**
   * penalty, reward, block, set: one exact transaction. This instance's lease stays as it is
   * (other instances keep theirs too), so the reservation bookkeeping stays true.
   */
  async #writeThrough(rlKey: string, points: number, msDuration: number, forceExpire: boolean, consuming: boolean): Promise<Counter> {
    if (forceExpire) this.#leases.delete(rlKey);
    const next = await this.#store.runTransaction(async (tx) => {
      const id = documentId(rlKey);
      const current = forceExpire ? null : await tx.get<Counter>(this.#collection, id);
      const reserved = current?.reserved ?? 0;
      const counter = current
        ? toCounter(Math.max(reserved, current.points + points), reserved, current.expiresAt)
        : toCounter(Math.max(0, points), 0, msDuration > 0 ? Date.now() + msDuration : undefined);
      tx.set(this.#collection, id, counter);
      return counter;
    });
    const lease = this.#liveLease(rlKey);
    // Once committed, this instance's lease learns the new count, so its next consumes are judged on it.
    if (lease && lease.expiresAt === next.expiresAt) lease.consumed = next.points - lease.available;
    // A consume is judged on what is used or reserved; the others answer points used, as get does.
    return consuming ? next : toCounter(next.points - next.reserved + this.#ownUse(rlKey, next.expiresAt), 0, next.expiresAt);
  }

  /** Points this instance has drawn from its lease in the window ending at `expiresAt`. */
  #ownUse(rlKey: string, expiresAt: number | undefined): number {
    const lease = this.#liveLease(rlKey);
    return lease && lease.expiresAt === expiresAt ? lease.reserved - lease.available : 0;
  }
}

function toCounter(points: number, reserved: number, expiresAt: number | undefined): Counter {
  return expiresAt === undefined ? { points, reserved } : { points, reserved, expiresAt };
}

/**
 * A counter's id is a hash of its key: keys name accounts, email addresses and client IPs, which
 * an id would show to anyone reading the store, after the account is gone too. (A hash also
 * holds no `/`, which document ids may not.)
 */
function documentId(rlKey: string): string {
  return createHash('sha256').update(rlKey).digest('hex');
}
