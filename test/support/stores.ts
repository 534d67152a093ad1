/**
 * Stores for tests that need to watch or break the data layer: a real embedded store, with
 * chosen methods replaced and every other one going to the store itself.
 */
import { declaredIndexes } from '../../functions/src/store/index.ts';
import { EXPIRES_AT, type DocumentData, type DocumentStore, type Transaction } from '../../functions/src/store/port.ts';
import { SqliteDocumentStore } from '../../functions/src/store/sqlite.ts';

/** In memory, enforcing firestore.indexes.json, as startApi's own store. */
export function memoryStore(): SqliteDocumentStore {
  return new SqliteDocumentStore({ path: ':memory:', indexes: declaredIndexes() });
}

/** `store` (a document or blob store) with some methods replaced. The replacements may call the store's own methods. */
export function withOverrides<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The in-memory store, noting each collection written and whether what was written there expires (`expiresAt`). */
export function recordingStore(): { store: DocumentStore; written: Map<string, boolean> } {
  const inner = memoryStore();
  const written = new Map<string, boolean>();
  const note = (collection: string, data: DocumentData) => written.set(collection, (written.get(collection) ?? false) || EXPIRES_AT in data);
  const store: DocumentStore = Object.assign(Object.create(inner) as DocumentStore, {
    create: (collection: string, id: string, data: DocumentData) => (note(collection, data), inner.create(collection, id, data)),
    set: (collection: string, id: string, data: DocumentData) => (note(collection, data), inner.set(collection, id, data)),
    update: (collection: string, id: string, patch: DocumentData) => (note(collection, patch), inner.update(collection, id, patch)),
    get: inner.get.bind(inner),
    delete: inner.delete.bind(inner),
    query: inner.query.bind(inner),
    close: inner.close.bind(inner),
    runTransaction: <R>(work: (tx: Transaction) => Promise<R>) =>
      inner.runTransaction((tx) =>
        work({
          get: tx.get.bind(tx),
          delete: tx.delete.bind(tx),
          create: (collection, id, data) => (note(collection, data), tx.create(collection, id, data)),
          set: (collection, id, data) => (note(collection, data), tx.set(collection, id, data)),
          update: (collection, id, patch) => (note(collection, patch), tx.update(collection, id, patch)),
        }),
      ),
  });
  return { store, written };
}

/** Store round trips, by kind: what each costs on Firestore, where every one is a network call. */
export interface RoundTrips {
  /** Single-document reads outside transactions. */
  reads: number;
  queries: number;
  /** Transactions (each one commit, whatever it read or wrote). */
  transactions: number;
  /** Writes outside transactions (create, set, update, delete). */
  writes: number;
}

/** `store`, counting its round trips; `take()` answers those since the last take and starts again. */
export function countingStore(store: DocumentStore): { store: DocumentStore; take(): RoundTrips } {
  let counts: RoundTrips = { reads: 0, queries: 0, transactions: 0, writes: 0 };
  const count = (kind: keyof RoundTrips) => (counts[kind] += 1);
  const write =
    <A extends unknown[]>(method: (...args: A) => Promise<void>) =>
    (...args: A) => (count('writes'), method(...args));
  return {
    store: withOverrides(store, {
      get: (collection, id) => (count('reads'), store.get(collection, id)),
      query: (collection, spec) => (count('queries'), store.query(collection, spec)),
      runTransaction: (work) => (count('transactions'), store.runTransaction(work)),
      create: write(store.create.bind(store)),
      set: write(store.set.bind(store)),
      update: write(store.update.bind(store)),
      delete: write(store.delete.bind(store)),
    }),
    take() {
      const taken = counts;
      counts = { reads: 0, queries: 0, transactions: 0, writes: 0 };
      return taken;
    },
  };
}
