/**
 * Firestore driver for the document-store port (firebase-admin), used when deployed and by the
 * contract suite when FIRESTORE_EMULATOR_HOST is set.
 *
 * firebase-admin's Firestore takes about half a second to import on its own, so
 * `openFirestoreStore` loads it on first use: a function that never opens this driver never
 * pays for it. Deployed, it costs about 0.17 s beyond the entry, and firebase-admin's wrapper
 * nothing measurable over @google-cloud/firestore imported directly: firebase-functions has
 * loaded firebase-admin's core (and google-auth-library) already. Most of it is google-gax
 * with gRPC, which @google-cloud/firestore imports at its top level whatever the transport.
 *
 * `expiresAt` is kept as a Firestore Timestamp so a TTL policy on that field (see
 * firestore.indexes.json) deletes expired documents; callers see epoch milliseconds.
 *
 * Every call has a deadline (deadline.ts): when Firestore does not answer, the call fails with
 * StoreUnavailableError in time for a 503, instead of holding the request until the platform
 * cuts it. What goes on after the deadline is bounded too, by the client's own timeouts and
 * retries (`clientSettings`: reads a few deadlines, so as not to orphan transactions), and
 * every write, a single document's included, goes through a transaction (`#transaction`)
 * whose commit is sent only before the deadline, with a timeout of half a deadline and no
 * retry by the client; a caller whose commit was sent hears how it ended (at worst half a
 * deadline late). No write is sent after its caller was told 503; one whose commit timed out
 * has an unknown outcome, and is reported as unavailable.
 *
 * The client speaks REST in production (no gRPC channel to set up; gRPC's code loads anyway,
 * see above), and against an emulator too, unless gRPC is asked for: the emulator is handed an auth client
 * holding its owner token, where the REST transport would otherwise look for Google
 * credentials (and ask a metadata server for them).
 */
import type { App } from 'firebase-admin/app';
import type { DocumentReference, DocumentSnapshot, Firestore, Query, Settings, Transaction as FirestoreTransaction } from 'firebase-admin/firestore';
import type { AuthClient } from 'google-auth-library';
import { DEFAULT_STORE_DEADLINE_MS } from '../config/index.ts';
import { BoundedCalls, type Deadline } from './deadline.ts';
import { DocumentExistsError, DocumentNotFoundError, MissingIndexError, StoreError, StoreUnavailableError, TransactionAbortedError } from './errors.ts';
import {
  EXPIRES_AT,
  assertName,
  decodeCursor,
  encodeCursor,
  isExpired,
  type CursorPosition,
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
  /** Longest one call may take; past it the call fails with StoreUnavailableError (`STORE_DEADLINE_MS`). */
  deadlineMs?: number;
  /** Calls still running (answered or not) past which a new call fails at once with StoreUnavailableError. */
  maxOutstandingCalls?: number;
  /** How the client speaks to Firestore: `rest` (HTTP/1.1, as in production) or `grpc`. */
  transport?: 'rest' | 'grpc';
  /** The emulator to use, as `host:port`; FIRESTORE_EMULATOR_HOST's by default. Without either, Google's Firestore. */
  emulatorHost?: string | undefined;
}

/** Enough for a function instance's concurrent requests; beyond it the store is not keeping up anyway. */
export const DEFAULT_MAX_OUTSTANDING_CALLS = 256;

/**
 * A commit's own timeout, half the deadline: long enough to wait out a lock held by another
 * transaction, short enough that a caller whose commit went out just before its deadline is
 * not kept much longer.
 */
export function commitTimeoutMs(deadlineMs: number): number {
  return Math.max(Math.floor(deadlineMs / 2), 1);
}

let opened = 0;

export async function openFirestoreStore(options: FirestoreStoreOptions = {}): Promise<FirestoreDocumentStore> {
  const [{ initializeApp, deleteApp }, firestoreModule] = await Promise.all([import('firebase-admin/app'), import('firebase-admin/firestore')]);
  const transport = options.transport ?? 'rest';
  const deadlineMs = options.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
  const emulatorHost = options.emulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST;
  const authClient = emulatorHost && transport === 'rest' ? await emulatorAuthClient(clientTimeoutMs(deadlineMs)) : undefined;
  // A named app of our own: the host (or another store) may own the default app.
  opened += 1;
  const app: App = initializeApp(options.projectId ? { projectId: options.projectId } : {}, `bastion-store-${opened}`);
  const db = withEmulatorHost(emulatorHost, () => {
    const firestore = firestoreModule.initializeFirestore(app, { preferRest: transport === 'rest' });
    firestore.settings(clientSettings(deadlineMs, authClient));
    return firestore;
  });
  return new FirestoreDocumentStore(firestoreModule, db, () => deleteApp(app), { ...options, deadlineMs });
}

/**
 * The client reads FIRESTORE_EMULATOR_HOST when it is built, over any host it is given: while
 * it is built (synchronously, so nothing else sees it), the variable names this store's emulator.
 */
function withEmulatorHost<T>(host: string | undefined, build: () => T): T {
  const before = process.env.FIRESTORE_EMULATOR_HOST;
  setEmulatorHost(host);
  try {
    return build();
  } finally {
    setEmulatorHost(before);
  }
}

function setEmulatorHost(host: string | undefined): void {
  if (host === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = host;
}

/** The emulator's admin token, preset: nothing to refresh, so no request for credentials is ever made. */
async function emulatorAuthClient(timeoutMs: number): Promise<AuthClient> {
  const { OAuth2Client } = await import('google-auth-library');
  return new OAuth2Client({ credentials: { access_token: 'owner' }, transporterOptions: { timeout: timeoutMs } });
}

/**
 * How long the client itself waits on a read (or a rollback) before giving up: longer than the
 * deadline, on purpose. A transaction begins with its first read, and a read given up while
 * Firestore was still on it can leave behind a transaction the client never learned of,
 * holding its locks until it expires (60 s): every transaction on those documents would wait
 * for it meanwhile. So the client waits on after the caller was answered, long enough for a
 * slow store to finish, and the transaction is then rolled back. Still bounded, and counted.
 */
export function clientTimeoutMs(deadlineMs: number): number {
  return Math.max(4 * deadlineMs, 10_000);
}

/**
 * The client's own limits, in place of its defaults (60 s a request, retried for up to
 * 10 minutes), which outlast any caller and would keep work, and writes, going long after
 * the caller was answered.
 */
function clientSettings(deadlineMs: number, authClient: AuthClient | undefined): Settings {
  const timeout = clientTimeoutMs(deadlineMs);
  return {
    clientConfig: boundedClientConfig(deadlineMs),
    // On REST, each HTTP request is bounded by its transport as well: the client arms no
    // timeout on streamed answers (reads and queries). The emulator's auth client carries its
    // own transport; Google's (from the environment) is built with these options.
    ...(authClient ? { authClient } : { clientOptions: { transporterOptions: { timeout } } }),
  };
}

/** gax client configuration overrides (firestore_client_config.json's shape) for the methods this driver uses. */
function boundedClientConfig(deadlineMs: number) {
  const within = (ms: number) => ({
    initial_retry_delay_millis: 100,
    retry_delay_multiplier: 1.3,
    max_retry_delay_millis: ms,
    initial_rpc_timeout_millis: ms,
    rpc_timeout_multiplier: 1,
    max_rpc_timeout_millis: ms,
    total_timeout_millis: ms,
  });
  const readMs = clientTimeoutMs(deadlineMs);
  const read = { timeout_millis: readMs, retry_params_name: 'read' };
  const commitMs = commitTimeoutMs(deadlineMs);
  return {
    interfaces: {
      'google.firestore.v1.Firestore': {
        // A failed commit is retried, if at all, by the transaction runner, as guardCommit allows.
        retry_codes: { never: [] },
        retry_params: { read: within(readMs), commit: within(commitMs) },
        methods: {
          BatchGetDocuments: read,
          RunQuery: read,
          BeginTransaction: read,
          Rollback: read,
          Commit: { timeout_millis: commitMs, retry_codes_name: 'never', retry_params_name: 'commit' },
        },
      },
    },
  };
}

/** gRPC status codes Firestore reports. */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

type Write =
  | { kind: 'create' | 'insert' | 'set'; collection: string; id: string; data: DocumentData }
  | { kind: 'update'; collection: string; id: string; patch: DocumentData }
  | { kind: 'delete'; collection: string; id: string };

export class FirestoreDocumentStore implements DocumentStore {
  readonly driver = 'firestore' as const;
  readonly #fs: FirestoreModule;
  readonly #db: Firestore;
  readonly #release: () => Promise<void>;
  readonly #maxAttempts: number;
  readonly #calls: BoundedCalls;
  readonly #idleTimeoutMs: number;
  #closed = false;

  constructor(fs: FirestoreModule, db: Firestore, release: () => Promise<void>, options: FirestoreStoreOptions = {}) {
    this.#fs = fs;
    this.#db = db;
    this.#release = release;
    this.#maxAttempts = options.maxTransactionAttempts ?? 5;
    const deadlineMs = options.deadlineMs ?? DEFAULT_STORE_DEADLINE_MS;
    this.#calls = new BoundedCalls({
      store: 'firestore',
      deadlineMs,
      maxOutstanding: options.maxOutstandingCalls ?? DEFAULT_MAX_OUTSTANDING_CALLS,
    });
    this.#idleTimeoutMs = clientTimeoutMs(deadlineMs);
  }

  /** Calls started and not yet ended, those past their deadline included. */
  get outstandingCalls(): number {
    return this.#calls.outstanding;
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    this.#assertOpen();
    const ref = documentRef(this.#db, collection, id);
    return this.#calls.run('get', () => this.#guard(async () => liveData(this.#fs, await ref.get()) as T | null));
  }

  async create(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#assertOpen();
    assertDocument(collection, id);
    await this.#calls.run('create', async (deadline) => {
      try {
        await this.#transaction(deadline, async (tx) => tx.insert(collection, id, data));
      } catch (error) {
        if (!(error instanceof DocumentExistsError)) throw error;
        // The id may belong to an expired document the TTL sweep has not reached yet.
        await this.#transaction(deadline, async (tx) => tx.create(collection, id, data));
      }
    });
  }

  async set(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#assertOpen();
    assertDocument(collection, id);
    await this.#calls.run('set', (deadline) => this.#transaction(deadline, async (tx) => tx.set(collection, id, data)));
  }

  async update(collection: string, id: string, patch: DocumentData): Promise<void> {
    this.#assertOpen();
    // Read-merge-write in a transaction: an expired document must read as missing, and a
    // top-level field name is never taken as a dotted field path.
    await this.#calls.run('update', (deadline) => this.#transaction(deadline, async (tx) => tx.update(collection, id, patch)));
  }

  async delete(collection: string, id: string): Promise<void> {
    this.#assertOpen();
    assertDocument(collection, id);
    await this.#calls.run('delete', (deadline) => this.#transaction(deadline, async (tx) => tx.delete(collection, id)));
  }

  async query<T extends DocumentData>(collection: string, spec: QuerySpec): Promise<Page<T>> {
    this.#assertOpen();
    assertName('collection', collection);
    const limit = Math.trunc(spec.limit);
    if (!(limit >= 1 && limit <= 1000)) throw new TypeError('limit must be 1..1000');
    const after = decodeCursor(collection, spec);
    return this.#calls.run('query', (deadline) => this.#query<T>(deadline, collection, spec, limit, after));
  }

  async runTransaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    this.#assertOpen();
    return this.#calls.run('transaction', (deadline) => this.#transaction(deadline, work));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Calls still running end first (each is bounded): the client, terminated under a read
    // between two of its retries, leaves it hanging and reports an unhandled rejection.
    await this.#calls.idle(this.#idleTimeoutMs);
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

  async #query<T extends DocumentData>(deadline: Deadline, collection: string, spec: QuerySpec, limit: number, after: CursorPosition | undefined): Promise<Page<T>> {
    const order = spec.orderBy;
    const documentId = this.#fs.FieldPath.documentId();

    let query: Query = this.#db.collection(collection);
    for (const [field, value] of Object.entries(spec.where ?? {})) query = query.where(field, '==', value);
    query = order ? query.orderBy(order.field, order.direction).orderBy(documentId, order.direction) : query.orderBy(documentId, 'asc');

    // Expired documents are dropped here (the TTL sweep is lazy), so keep reading until a page
    // and one more live document are in hand or the collection runs out.
    const live: StoredDocument<T>[] = [];
    let position: unknown[] | undefined = after ? (order ? [after.value, after.id] : [after.id]) : undefined;
    while (live.length <= limit) {
      deadline.assertNotPassed('query');
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
    const nextCursor = live.length > limit && last ? encodeCursor(collection, spec, last) : null;
    return { documents, nextCursor };
  }

  /**
   * Runs `work` in a Firestore transaction. Firestore's runner runs it again after a failure
   * it deems transient (ABORTED, from a read or the commit, above all: a conflict), keeping the
   * transaction's place in line for the locks it contends for; but not once the deadline has
   * passed. How it commits is bounded by `guardCommit`.
   */
  async #transaction<R>(deadline: Deadline, work: (tx: BufferedTransaction) => Promise<R>): Promise<R> {
    // What the caller's own work throws (a 404, a validation error) reaches the caller as it
    // is. What Firestore raises is translated: from the commit, and from a read inside the
    // work, which the work passes on (Firestore must see it as it is, to retry a conflict).
    const thrownByWork = new WeakSet<object>();
    const raisedByStore = new WeakSet<object>();
    const commit: CommitState = { guarded: false };
    try {
      const result = await this.#db.runTransaction(
        async (firestoreTx) => {
          deadline.assertNotPassed('transaction');
          const tx = new BufferedTransaction(this.#fs, this.#db, firestoreTx, deadline, raisedByStore);
          let result: R;
          try {
            result = await work(tx);
          } catch (error) {
            if (isObject(error)) thrownByWork.add(error);
            throw error;
          }
          await tx.commit();
          guardCommit(firestoreTx, deadline, commit);
          return result;
        },
        { maxAttempts: this.#maxAttempts },
      );
      // A client that committed some other way would have bypassed every rule above.
      if (!commit.guarded) throw new Error('firestore: the transaction committed without guardCommit (client library changed?)');
      return result;
    } catch (error) {
      if (isObject(error) && thrownByWork.has(error) && !raisedByStore.has(error)) throw error;
      throw translate(error);
    } finally {
      // A commit that succeeded holds the deadline until its outcome is on its way back.
      commit.release?.();
    }
  }
}

interface CommitState {
  /** Whether the guarded commit ran (for the last attempt). */
  guarded: boolean;
  /** Lets the deadline go again, once the caller has the commit's outcome. */
  release?: (() => void) | undefined;
}

/**
 * Firestore's runner commits the queued writes once the work returns, through the
 * transaction's `commit`, and would retry any transient failure of it, a commit that timed out
 * included, though its writes may have been applied. Wrapped, for this attempt:
 *
 * - the commit is sent only before the deadline, and holds the deadline while it runs (it
 *   has a timeout of its own, half a deadline, and no retry by the client), so the caller
 *   hears how it ended rather than a 503 while the writes may still land;
 * - a commit failing in a way the runner would retry, other than by conflict (ABORTED:
 *   refused, nothing applied), fails the transaction with StoreUnavailableError, which it does
 *   not retry. Definite refusals (ALREADY_EXISTS, ...) pass as they are.
 */
function guardCommit(firestoreTx: FirestoreTransaction, deadline: Deadline, state: CommitState): void {
  const tx = firestoreTx as unknown as { commit(): Promise<void> };
  const commit = (Object.getPrototypeOf(tx) as { commit?: unknown }).commit;
  if (typeof commit !== 'function') throw new Error('firestore: Transaction.commit not found (client library changed?)');
  tx.commit = async function guardedCommit(this: unknown): Promise<void> {
    state.guarded = true;
    deadline.assertNotPassed('transaction commit');
    const release = deadline.hold();
    try {
      await commit.call(this);
    } catch (error) {
      release();
      if (!outcomeUnknown(error)) throw error;
      throw new StoreUnavailableError(`firestore: commit failed, its outcome unknown: ${(error as Error).message}`, { cause: error });
    }
    state.release = release;
  };
}

/** The failures Firestore's runner retries (transaction.js, isRetryableTransactionError), ABORTED aside. */
const UNKNOWN_OUTCOME = new Set<unknown>([GRPC.CANCELLED, GRPC.UNKNOWN, GRPC.DEADLINE_EXCEEDED, GRPC.RESOURCE_EXHAUSTED, GRPC.INTERNAL, GRPC.UNAVAILABLE, GRPC.UNAUTHENTICATED]);

function outcomeUnknown(error: unknown): boolean {
  return UNKNOWN_OUTCOME.has((error as { code?: unknown } | null)?.code);
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

function assertDocument(collection: string, id: string): void {
  assertName('collection', collection);
  assertName('document id', id);
}

function documentRef(db: Firestore, collection: string, id: string): DocumentReference {
  assertDocument(collection, id);
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
  const data = snapshot.data() as DocumentData;
  const expiresAt: unknown = data[EXPIRES_AT];
  const converted: DocumentData = expiresAt instanceof fs.Timestamp ? { ...data, [EXPIRES_AT]: expiresAt.toMillis() } : data;
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
 * Reads stop once the deadline has passed; what a read raises is recorded as the store's.
 */
class BufferedTransaction implements Transaction {
  readonly #fs: FirestoreModule;
  readonly #db: Firestore;
  readonly #tx: FirestoreTransaction;
  readonly #deadline: Deadline;
  readonly #raisedByStore: WeakSet<object>;
  readonly #reads = new Map<string, DocumentData | null>();
  readonly #writes: Write[] = [];

  constructor(fs: FirestoreModule, db: Firestore, tx: FirestoreTransaction, deadline: Deadline, raisedByStore: WeakSet<object>) {
    this.#fs = fs;
    this.#db = db;
    this.#tx = tx;
    this.#deadline = deadline;
    this.#raisedByStore = raisedByStore;
  }

  /** Writes queued so far. */
  get writes(): number {
    return this.#writes.length;
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    if (this.#writes.length > 0) throw new TypeError('transactions must do all reads before any write');
    return (await this.#read(collection, id)) as T | null;
  }

  create(collection: string, id: string, data: DocumentData): void {
    this.#writes.push({ kind: 'create', collection, id, data });
  }

  /** Firestore's own create: refused over any stored document, expired or not, and needs no read. */
  insert(collection: string, id: string, data: DocumentData): void {
    this.#writes.push({ kind: 'insert', collection, id, data });
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
      const before = pending.has(key) ? pending.get(key)! : (current.get(write) ?? null);
      const ref = documentRef(this.#db, write.collection, write.id);
      switch (write.kind) {
        case 'create':
          if (before) throw new DocumentExistsError(write.collection, write.id);
          this.#tx.set(ref, toFirestore(this.#fs, write.data));
          pending.set(key, write.data);
          break;
        case 'insert':
          this.#tx.create(ref, toFirestore(this.#fs, write.data));
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
      const ref = documentRef(this.#db, collection, id);
      let snapshot: DocumentSnapshot;
      try {
        this.#deadline.assertNotPassed('transaction read');
        snapshot = await this.#tx.get(ref);
      } catch (error) {
        if (isObject(error)) this.#raisedByStore.add(error);
        throw error;
      }
      this.#reads.set(key, liveData(this.#fs, snapshot));
    }
    return this.#reads.get(key)!;
  }
}
