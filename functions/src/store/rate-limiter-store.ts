/**
 * A rate-limiter-flexible store on the document-store port, so limits hold on both drivers
 * (and across instances, on Firestore). It follows the library's store contract: a subclass
 * of RateLimiterStoreAbstract with `_upsert`, `_get`, `_delete` and `_getRateLimiterRes`.
 * A counter is one document whose `expiresAt` ends its window, so expiry cleans it up.
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import RateLimiterStoreAbstract from 'rate-limiter-flexible/lib/RateLimiterStoreAbstract.js';
import type { DocumentStore } from './port.ts';

interface Counter {
  [field: string]: number;
  points: number;
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

export class RateLimiterDocumentStore extends RateLimiterStoreAbstract {
  readonly #store: DocumentStore;
  readonly #collection: string;

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

  /** Adds `points` to the key's counter atomically, starting a new window when none is live. */
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<Counter> {
    const id = documentId(rlKey);
    return this.#store.runTransaction(async (tx) => {
      const current = forceExpire ? null : await tx.get<Counter>(this.#collection, id);
      const next: Counter = current
        ? { ...current, points: current.points + points }
        : { points, ...(msDuration > 0 ? { expiresAt: Date.now() + msDuration } : {}) };
      tx.set(this.#collection, id, next);
      return next;
    });
  }

  _get(rlKey: string): Promise<Counter | null> {
    return this.#store.get<Counter>(this.#collection, documentId(rlKey));
  }

  async _delete(rlKey: string): Promise<boolean> {
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
}

/** Limiter keys hold `:` and IPv6 addresses; document ids may not hold `/`. */
function documentId(rlKey: string): string {
  return encodeURIComponent(rlKey);
}
