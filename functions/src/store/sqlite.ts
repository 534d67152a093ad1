/**
 * Embedded document store on node:sqlite: the default for `npm start` and `npm test`.
 *
 * One table holds every collection; documents are JSON text with a version number for
 * optimistic concurrency. Transactions are serialized in-process by a lock and validated at
 * commit (versions of everything read must be unchanged), so a plain write that slips in
 * between, or another process on the same file, makes the transaction run again rather
 * than commit stale reads.
 */
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
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
  indexCovers,
  requiredIndex,
  type DocumentData,
  type DocumentStore,
  type FilterValue,
  type IndexDefinition,
  type Page,
  type QuerySpec,
  type Transaction,
} from './port.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  path: string;
  /**
   * Composite indexes (from firestore.indexes.json). When given, they are created as SQL
   * indexes and a query needing an undeclared one fails as it would on Firestore.
   */
  indexes?: IndexDefinition[];
  /** How often expired documents are purged. */
  sweepIntervalMs?: number;
  /** Attempts before a conflicting transaction is given up. */
  maxTransactionAttempts?: number;
}

type Row = { data: string; version: number; expires_at: number | null };
type Write =
  | { kind: 'create' | 'set'; collection: string; id: string; data: DocumentData }
  | { kind: 'update'; collection: string; id: string; patch: DocumentData }
  | { kind: 'delete'; collection: string; id: string };

/** Top-level field names only: they are spliced into SQL as JSON paths. */
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function fieldExpression(field: string): string {
  if (!FIELD.test(field)) throw new TypeError(`unsupported field name: ${JSON.stringify(field)}`);
  return `json_extract(data, '$.${field}')`;
}

function expiryOf(data: DocumentData): number | null {
  const value = data[EXPIRES_AT];
  return typeof value === 'number' ? value : null;
}

/**
 * A fresh random version on every write (not a counter), so a document deleted and created
 * again never shows a transaction the version it read earlier.
 */
function newVersion(): number {
  return randomInt(1, 2 ** 48);
}

function toSqlValue(value: FilterValue): string | number | null {
  return typeof value === 'boolean' ? Number(value) : value;
}

/** Runs async work one at a time, in arrival order. */
class Lock {
  #tail: Promise<void> = Promise.resolve();
  run<R>(work: () => Promise<R>): Promise<R> {
    const result = this.#tail.then(work);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export class SqliteDocumentStore implements DocumentStore {
  readonly driver = 'sqlite' as const;
  readonly #db: DatabaseSync;
  readonly #indexes: IndexDefinition[] | undefined;
  readonly #lock = new Lock();
  readonly #maxAttempts: number;
  readonly #statements: Record<'get' | 'insert' | 'upsert' | 'remove' | 'sweep', StatementSync>;
  readonly #queries = new Map<string, StatementSync>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new DatabaseSync(options.path);
    this.#indexes = options.indexes;
    this.#maxAttempts = options.maxTransactionAttempts ?? 5;
    // One process owns the file (a second `npm start` on the same DATA_DIR is refused with
    // "database is locked"): no shared-memory locking syscalls on every statement.
    this.#db.exec(`
      PRAGMA locking_mode = EXCLUSIVE;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS documents (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        expires_at INTEGER,
        PRIMARY KEY (collection, id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
    `);
    for (const index of options.indexes ?? []) this.#createIndex(index);
    this.#statements = {
      get: this.#db.prepare('SELECT data, version, expires_at FROM documents WHERE collection = ? AND id = ?'),
      // A create may reuse the id of an expired document, never of a live one.
      insert: this.#db.prepare(`
        INSERT INTO documents (collection, id, data, version, expires_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (collection, id) DO UPDATE
          SET data = excluded.data, version = excluded.version, expires_at = excluded.expires_at
          WHERE documents.expires_at IS NOT NULL AND documents.expires_at <= ?`),
      upsert: this.#db.prepare(`
        INSERT INTO documents (collection, id, data, version, expires_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (collection, id) DO UPDATE
          SET data = excluded.data, version = excluded.version, expires_at = excluded.expires_at`),
      remove: this.#db.prepare('DELETE FROM documents WHERE collection = ? AND id = ?'),
      sweep: this.#db.prepare('DELETE FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    };
    this.#sweeper = setInterval(() => this.#guard(() => this.#statements.sweep.run(Date.now())), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    return this.#guard(() => {
      const row = this.#read(collection, id);
      return row ? (JSON.parse(row.data) as T) : null;
    });
  }

  async create(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#guard(() => this.#apply({ kind: 'create', collection, id, data }));
  }

  async set(collection: string, id: string, data: DocumentData): Promise<void> {
    this.#guard(() => this.#apply({ kind: 'set', collection, id, data }));
  }

  async update(collection: string, id: string, patch: DocumentData): Promise<void> {
    // read-merge-write must not interleave with anything: one synchronous SQL transaction
    this.#guard(() => this.#atomically(() => this.#apply({ kind: 'update', collection, id, patch })));
  }

  async delete(collection: string, id: string): Promise<void> {
    this.#guard(() => this.#apply({ kind: 'delete', collection, id }));
  }

  async query<T extends DocumentData>(collection: string, spec: QuerySpec): Promise<Page<T>> {
    assertName('collection', collection);
    const needed = requiredIndex(collection, spec);
    if (needed && this.#indexes && !this.#indexes.some((index) => indexCovers(index, needed))) {
      throw new MissingIndexError(
        `query on ${collection} needs a composite index on ${needed.fields.map((f) => `${f.field} ${f.order}`).join(', ')}; declare it in firestore.indexes.json`,
      );
    }
    const limit = Math.trunc(spec.limit);
    if (!(limit >= 1 && limit <= 1000)) throw new TypeError('limit must be 1..1000');
    const filters = Object.entries(spec.where ?? {});
    const after = spec.cursor === undefined ? undefined : decodeCursor(spec.cursor);
    const order = spec.orderBy;
    const direction = order?.direction === 'desc' ? 'DESC' : 'ASC';
    const orderExpression = order ? fieldExpression(order.field) : null;

    const clauses = ['collection = ?', '(expires_at IS NULL OR expires_at > ?)'];
    const params: (string | number | null)[] = [collection, Date.now()];
    for (const [field, value] of filters) {
      clauses.push(`${fieldExpression(field)} IS ?`);
      params.push(toSqlValue(value));
    }
    if (after) {
      const comparison = direction === 'DESC' ? '<' : '>';
      if (orderExpression) {
        clauses.push(`(${orderExpression}, id) ${comparison} (?, ?)`);
        params.push(toSqlValue(after[0] as FilterValue), after[1]);
      } else {
        clauses.push(`id ${comparison} ?`);
        params.push(after[1]);
      }
    }
    const orderBy = orderExpression ? `${orderExpression} ${direction}, id ${direction}` : `id ${direction}`;
    const sql = `SELECT id, data FROM documents WHERE ${clauses.join(' AND ')} ORDER BY ${orderBy} LIMIT ?`;
    params.push(limit + 1);

    return this.#guard(() => {
      let statement = this.#queries.get(sql);
      if (!statement) {
        statement = this.#db.prepare(sql);
        this.#queries.set(sql, statement);
      }
      const rows = statement.all(...params) as { id: string; data: string }[];
      const documents = rows.slice(0, limit).map((row) => ({ id: row.id, data: JSON.parse(row.data) as T }));
      const last = documents.at(-1);
      const nextCursor =
        rows.length > limit && last ? encodeCursor(order ? last.data[order.field] : null, last.id) : null;
      return { documents, nextCursor };
    });
  }

  async runTransaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return this.#lock.run(async () => {
      for (let attempt = 1; attempt <= this.#maxAttempts; attempt += 1) {
        const tx = new SqliteTransaction((collection, id) => this.#guard(() => this.#read(collection, id)));
        const result = await work(tx);
        const committed = this.#guard(() =>
          this.#atomically(() => {
            for (const [key, version] of tx.reads) {
              const [collection, id] = JSON.parse(key) as [string, string];
              if ((this.#read(collection, id)?.version ?? 0) !== version) return false;
            }
            for (const write of tx.writes) this.#apply(write);
            return true;
          }),
        );
        if (committed) return result;
      }
      throw new TransactionAbortedError(`transaction conflicted ${this.#maxAttempts} times`);
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    if (this.#db.isOpen) this.#db.close();
  }

  /** The live row, or undefined when missing or expired. */
  #read(collection: string, id: string): Row | undefined {
    assertName('collection', collection);
    assertName('document id', id);
    const row = this.#statements.get.get(collection, id) as Row | undefined;
    if (!row || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
    return row;
  }

  #apply(write: Write): void {
    const { collection, id } = write;
    assertName('collection', collection);
    assertName('document id', id);
    switch (write.kind) {
      case 'create': {
        const { changes } = this.#statements.insert.run(collection, id, JSON.stringify(write.data), newVersion(), expiryOf(write.data), Date.now());
        if (changes === 0) throw new DocumentExistsError(collection, id);
        return;
      }
      case 'set':
        this.#statements.upsert.run(collection, id, JSON.stringify(write.data), newVersion(), expiryOf(write.data));
        return;
      case 'update': {
        const row = this.#read(collection, id);
        if (!row) throw new DocumentNotFoundError(collection, id);
        const merged = { ...(JSON.parse(row.data) as DocumentData), ...write.patch };
        this.#statements.upsert.run(collection, id, JSON.stringify(merged), newVersion(), expiryOf(merged));
        return;
      }
      case 'delete':
        this.#statements.remove.run(collection, id);
        return;
    }
  }

  /** Runs synchronous work in one SQL transaction; any throw rolls everything back. */
  #atomically<R>(work: () => R): R {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec(result === false ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Our typed errors pass through; anything SQLite throws means the store failed. */
  #guard<R>(work: () => R): R {
    try {
      return work();
    } catch (error) {
      if (error instanceof StoreError || error instanceof TypeError) throw error;
      throw new StoreUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error });
    }
  }

  #createIndex(index: IndexDefinition): void {
    const columns = index.fields.map((f) => `${fieldExpression(f.field)} ${f.order === 'desc' ? 'DESC' : 'ASC'}`);
    const name = `ix_${index.collection}_${index.fields.map((f) => `${f.field}_${f.order}`).join('_')}`.replace(/\W/g, '_');
    const last = index.fields.at(-1)?.order === 'desc' ? 'DESC' : 'ASC';
    this.#db.exec(`CREATE INDEX IF NOT EXISTS "${name}" ON documents (collection, ${columns.join(', ')}, id ${last})`);
  }
}

class SqliteTransaction implements Transaction {
  /** Version seen for each document read (0 for missing), keyed by JSON [collection, id]. */
  readonly reads = new Map<string, number>();
  readonly writes: Write[] = [];
  readonly #read: (collection: string, id: string) => Row | undefined;

  constructor(read: (collection: string, id: string) => Row | undefined) {
    this.#read = read;
  }

  async get<T extends DocumentData>(collection: string, id: string): Promise<T | null> {
    if (this.writes.length > 0) throw new TypeError('transactions must do all reads before any write');
    const row = this.#read(collection, id);
    this.reads.set(JSON.stringify([collection, id]), row?.version ?? 0);
    return row ? (JSON.parse(row.data) as T) : null;
  }

  create(collection: string, id: string, data: DocumentData): void {
    this.writes.push({ kind: 'create', collection, id, data });
  }

  set(collection: string, id: string, data: DocumentData): void {
    this.writes.push({ kind: 'set', collection, id, data });
  }

  update(collection: string, id: string, patch: DocumentData): void {
    this.writes.push({ kind: 'update', collection, id, patch });
  }

  delete(collection: string, id: string): void {
    this.writes.push({ kind: 'delete', collection, id });
  }
}
