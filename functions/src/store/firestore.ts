/**
 * Firestore driver for the document-store port (firebase-admin), used when deployed and by the
 * contract suite when FIRESTORE_EMULATOR_HOST is set.
 *
 * firebase-admin's Firestore takes about half a second to import, so `openFirestoreStore`
 * loads it on first use: a function that never opens this driver never pays for it.
 *
 * `expiresAt` is kept as a Firestore Timestamp so a TTL policy on that field (see
 * firestore.indexes.json) deletes expired documents; callers see epoch milliseconds.
 */
import type { App } from 'firebase-admin/app';
import type {
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Query,
  Transaction as FirestoreTransaction,
} from 'firebase-admin/firestore';
import {
  DocumentExistsError,
  DocumentNotFoundError,
  MissingIndexError,
  StoreError,
  StoreUnavailableError,
  TransactionAbortedError,
} from './errors.ts';
import {
  EXPIRES_AT,
  assertName,
  decodeCursor,
  encodeCursor,
  isExpired,
  type DocumentData,
  type DocumentStore,
  type Page,
  type QuerySpec,
  type StoredDocument,
  type Transaction,
} from './port.ts';

type FirestoreModule = typeof import('firebase-admin/firestore');

export interface FirestoreStoreOptions {
  projectId?: string | undefined;
  /** Attempts before a conflicting transaction is given up. */
  maxTransactionAttempts?: number;
}

let opened = 0;

export async function openFirestoreStore(options: FirestoreStoreOptions = {}): Promise<FirestoreDocumentStore> {
  const [{ initializeApp, deleteApp }, firestoreModule] = await Promise.all([
    import('firebase-admin/app'),
    import('firebase-admin/firestore'),
  ]);
  // A named app of our own: the host (or another store) may own the default app.
  opened += 1;
  const app = initializeApp(options.projectId ? { projectId: options.projectId } : {}, `bastion-store-${opened}`);
  // REST skips loading gRPC, which shortens cold starts; the emulator is spoken to over gRPC
  // because the REST transport insists on real Google credentials.
  const db = firestoreModule.initializeFirestore(app, { preferRest: !process.env.FIRESTORE_EMULATOR_HOST });
  return new FirestoreDocumentStore(firestoreModule, db, () => deleteApp(app), options);
}

/** gRPC status codes Firestore reports. */
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9, ABORTED: 10 } as const;

type Write =
  | { kind: 'create' | 'set'; collection: string; id: string; data: DocumentData }
  | { kind: 'update'; collection: string; id: string; patch: DocumentData }
  | { kind: 'delete'; collection: string; id: string };

export class FirestoreDocumentStore implements DocumentStore {
  readonly driver = 'firestore' as const;
  readonly #fs: FirestoreModule;
  readonly #db: Firestore;
  readonly #release: () => Promise<void>;
  readonly #maxAttempts: number;
  #closed = false;

  constructor(fs: FirestoreModule, db: Firestore, release: () => Promise<void>, options: FirestoreStoreOptions = {}) {
    this.#fs = fs;
    this.#db = db;
    this.#release = release;
    this.#maxAttempts = options.maxTransactionAttempts ?? 5;
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    this.#assertOpen();
    const ref = documentRef(this.#db, collection, id);
    return this.#guard(async () => liveData(this.#fs, await ref.get()) as T | null);
  }

  async create(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#assertOpen();
    const ref = documentRef(this.#db, collection, id);
    try {
      await this.#guard(() => ref.create(toFirestore(this.#fs, data)));
    } catch (error) {
      if (!(error instanceof DocumentExistsError)) throw error;
      // The id may belong to an expired document the TTL sweep has not reached yet.
      await this.runTransaction(async (tx) => tx.create(collection, id, data));
    }
  }

  async set(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#assertOpen();
    const ref = documentRef(this.#db, collection, id);
    await this.#guard(() => ref.set(toFirestore(this.#fs, data)));
  }

  async update(collection: string, id: string, patch: DocumentData): Promise<void> {
    // Read-merge-write in a transaction: an expired document must read as missing, and a
    // top-level field name is never taken as a dotted field path.
    await this.runTransaction(async (tx) => tx.update(collection, id, patch));
  }

  async delete(collection: string, id: string): Promise<void> {
    this.#assertOpen();
    const ref = documentRef(this.#db, collection, id);
    await this.#guard(() => ref.delete());
  }

  async query<T extends DocumentData>(collection: string, spec: QuerySpec): Promise<Page<T>> {
    this.#assertOpen();
    assertName('collection', collection);
    const limit = Math.trunc(spec.limit);
    if (!(limit >= 1 && limit <= 1000)) throw new TypeError('limit must be 1..1000');
    const after = spec.cursor === undefined ? undefined : decodeCursor(spec.cursor);
    const order = spec.orderBy;
    const documentId = this.#fs.FieldPath.documentId();

    let query: Query = this.#db.collection(collection);
    for (const [field, value] of Object.entries(spec.where ?? {})) query = query.where(field, '==', value);
    query = order
      ? query.orderBy(order.field, order.direction).orderBy(documentId, order.direction)
      : query.orderBy(documentId, 'asc');

    // Expired documents are dropped here (the TTL sweep is lazy), so keep reading until a page
    // and one more live document are in hand or the collection runs out.
    const live: StoredDocument<T>[] = [];
    let position: unknown[] | undefined = after ? (order ? [after[0], after[1]] : [after[1]]) : undefined;
    while (live.length <= limit) {
      const wanted = limit + 1 - live.length;
      const batch = position ? query.startAfter(...position) : query;
      const snapshot = await this.#guard(() => batch.limit(wanted).get());
      for (const doc of snapshot.docs) {
        const data = liveData(this.#fs, doc);
        if (data) live.push({ id: doc.id, data: data as T });
      }
      if (snapshot.size < wanted) break;
      const last = snapshot.docs.at(-1)!;
      position = order ? [last.get(order.field), last.id] : [last.id];
    }

    const documents = live.slice(0, limit);
    const last = documents.at(-1);
    const nextCursor =
      live.length > limit && last ? encodeCursor(order ? last.data[order.field] : null, last.id) : null;
    return { documents, nextCursor };
  }

  async runTransaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    this.#assertOpen();
    // What the caller's own work throws (a 404, a validation error) reaches the caller as it
    // is; only Firestore's failures are translated.
    const thrownByWork = new WeakSet<object>();
    try {
      return await this.#db.runTransaction(
        async (firestoreTx) => {
          const tx = new BufferedTransaction(this.#fs, this.#db, firestoreTx);
          let result: R;
          try {
            result = await work(tx);
          } catch (error) {
            if (typeof error === 'object' && error !== null) thrownByWork.add(error);
            throw error;
          }
          await tx.commit();
          return result;
        },
        { maxAttempts: this.#maxAttempts },
      );
    } catch (error) {
      if (typeof error === 'object' && error !== null && thrownByWork.has(error)) throw error;
      throw translate(error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.terminate();
    await this.#release();
  }

  /** A terminated client may hang rather than fail: refuse at once, as the SQLite driver does. */
  #assertOpen(): void {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
  }

  /** Our typed errors pass through; Firestore's are translated by gRPC status. */
  async #guard<R>(work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } catch (error) {
      throw translate(error);
    }
  }

}

function documentRef(db: Firestore, collection: string, id: string): DocumentReference {
  assertName('collection', collection);
  assertName('document id', id);
  return db.collection(collection).doc(id);
}

function toFirestore(fs: FirestoreModule, data: DocumentData): Record<string, unknown> {
  const expiresAt = data[EXPIRES_AT];
  if (typeof expiresAt !== 'number') return data;
  return { ...data, [EXPIRES_AT]: fs.Timestamp.fromMillis(expiresAt) };
}

/** The snapshot's data as the port sees it, or null when missing or expired. */
function liveData(fs: FirestoreModule, snapshot: DocumentSnapshot): DocumentData | null {
  if (!snapshot.exists) return null;
  const data = snapshot.data()!;
  const expiresAt = data[EXPIRES_AT];
  const converted = (expiresAt instanceof fs.Timestamp ? { ...data, [EXPIRES_AT]: expiresAt.toMillis() } : data) as DocumentData;
  return isExpired(converted) ? null : converted;
}

function translate(error: unknown): unknown {
  if (error instanceof StoreError || error instanceof TypeError) return error;
  const code = (error as { code?: unknown }).code;
  const message = `firestore: ${(error as Error).message}`;
  switch (code) {
    case GRPC.ALREADY_EXISTS:
      return Object.assign(new DocumentExistsError('document', 'id'), { message, cause: error });
    case GRPC.NOT_FOUND:
      return Object.assign(new DocumentNotFoundError('document', 'id'), { message, cause: error });
    case GRPC.ABORTED:
      return new TransactionAbortedError(message, { cause: error });
    case GRPC.FAILED_PRECONDITION:
      // Firestore's message carries the link that creates the missing index.
      return new MissingIndexError(message, { cause: error });
    case GRPC.INVALID_ARGUMENT:
      return new TypeError(message, { cause: error });
    default:
      return new StoreUnavailableError(message, { cause: error });
  }
}

/**
 * Buffers writes until the work is done, then checks creates and updates against what the
 * transaction reads (so an expired document counts as missing) and hands them to Firestore.
 */
class BufferedTransaction implements Transaction {
  readonly #fs: FirestoreModule;
  readonly #db: Firestore;
  readonly #tx: FirestoreTransaction;
  readonly #reads = new Map<string, DocumentData | null>();
  readonly #writes: Write[] = [];

  constructor(fs: FirestoreModule, db: Firestore, tx: FirestoreTransaction) {
    this.#fs = fs;
    this.#db = db;
    this.#tx = tx;
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    if (this.#writes.length > 0) throw new TypeError('transactions must do all reads before any write');
    return (await this.#read(collection, id)) as T | null;
  }

  create(collection: string, id: string, data: DocumentData): void {
    this.#writes.push({ kind: 'create', collection, id, data });
  }

  set(collection: string, id: string, data: DocumentData): void {
    this.#writes.push({ kind: 'set', collection, id, data });
  }

  update(collection: string, id: string, patch: DocumentData): void {
    this.#writes.push({ kind: 'update', collection, id, patch });
  }

  delete(collection: string, id: string): void {
    this.#writes.push({ kind: 'delete', collection, id });
  }

  async commit(): Promise<void> {
    // Every read Firestore needs happens before the first write, as it requires.
    const current = new Map<Write, DocumentData | null>();
    for (const write of this.#writes) {
      if (write.kind === 'create' || write.kind === 'update') current.set(write, await this.#read(write.collection, write.id));
    }
    // Earlier writes in this same transaction change what later ones see.
    const pending = new Map<string, DocumentData | null>();
    for (const write of this.#writes) {
      const key = JSON.stringify([write.collection, write.id]);
      const before = pending.has(key) ? pending.get(key)! : current.get(write) ?? null;
      const ref = documentRef(this.#db, write.collection, write.id);
      switch (write.kind) {
        case 'create':
          if (before) throw new DocumentExistsError(write.collection, write.id);
          this.#tx.set(ref, toFirestore(this.#fs, write.data));
          pending.set(key, write.data);
          break;
        case 'set':
          this.#tx.set(ref, toFirestore(this.#fs, write.data));
          pending.set(key, write.data);
          break;
        case 'update': {
          if (!before) throw new DocumentNotFoundError(write.collection, write.id);
          const merged = { ...before, ...write.patch };
          this.#tx.set(ref, toFirestore(this.#fs, merged));
          pending.set(key, merged);
          break;
        }
        case 'delete':
          this.#tx.delete(ref);
          pending.set(key, null);
          break;
      }
    }
  }

  async #read(collection: string, id: string): Promise<DocumentData | null> {
    const key = JSON.stringify([collection, id]);
    if (!this.#reads.has(key)) {
      const snapshot = await this.#tx.get(documentRef(this.#db, collection, id));
      this.#reads.set(key, liveData(this.#fs, snapshot));
    }
    return this.#reads.get(key)!;
  }
}
