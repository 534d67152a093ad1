/**
 * Embedded document store on node:sqlite: the default for `npm start` and `npm test`.
 *
 * One table holds every collection; documents are JSON text with a version number for
 * optimistic concurrency. Transactions are serialized in-process by a lock and validated at
 * commit (versions of everything read must be unchanged), so a plain write that slips in
 * between, or another process on the same file, makes the transaction run again rather
 * than commit stale reads.
 *
 * Other processes are welcome on the file (`npm run admin` while `npm start` runs, a backup):
 * WAL lets readers and one writer work at once, every write takes the lock up front (BEGIN
 * IMMEDIATE, held only for a synchronous commit, never across an await), and a writer waits
 * for another's lock for up to the busy timeout (STORE_DEADLINE_MS, 5 s by default), after
 * which the call fails with StoreBusyError: a 503, or words from the CLI. The wait blocks this
 * process's event loop (node:sqlite is synchronous), so the timeout is kept to seconds.
 *
 * The file holds password hashes and TOTP secrets: it, its -wal and -shm files, and its folder
 * are private to the user running bastion (0600/0700), whatever the umask, and are tightened,
 * with a log line, when an older run left them readable by others.
 *
 * Expired documents are purged by a periodic sweep that logs a failure (a full disk, an I/O
 * error) and tries again at the next interval: a store fault never takes the process down.
 */
import { randomInt } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { DocumentExistsError, DocumentNotFoundError, MissingIndexError, StoreBusyError, StoreError, StoreUnavailableError, TransactionAbortedError } from './errors.ts';
import {
  EXPIRES_AT,
  assertName,
  assertQuery,
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

/** Where the driver reports what it does on its own (the sweep, tightened modes); winston's Logger fits. */
export interface StoreLogger {
  error(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  info(message: string, fields: Record<string, unknown>): void;
}

/** One JSON line on stderr, in the shape of the server's own log lines, for a store given no logger. */
export const stderrLogger: StoreLogger = {
  error: (message, fields) => writeLine('error', message, fields),
  warn: (message, fields) => writeLine('warn', message, fields),
  info: (message, fields) => writeLine('info', message, fields),
};

function writeLine(level: string, message: string, fields: Record<string, unknown>): void {
  const shown = Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, value instanceof Error ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code } : value]),
  );
  process.stderr.write(`${JSON.stringify({ level, message, ...shown, timestamp: new Date().toISOString() })}\n`);
}

/** How long a write waits for another connection's lock by default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

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
  /** Longest a call waits for another connection's lock before failing with StoreBusyError. */
  busyTimeoutMs?: number;
  /** Where the sweep's failures and tightened file modes are reported; JSON lines on stderr by default. */
  logger?: StoreLogger;
}

interface Row {
  data: string;
  version: number;
  expires_at: number | null;
}
type Write =
  | { kind: 'create' | 'set'; collection: string; id: string; data: DocumentData }
  | { kind: 'update'; collection: string; id: string; patch: DocumentData }
  | { kind: 'delete'; collection: string; id: string };

/** Top-level field names only: they are spliced into SQL as JSON paths (the port's assertFieldName is stricter still). */
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function fieldExpression(field: string, fn: 'json_extract' | 'json_type' = 'json_extract'): string {
  if (!FIELD.test(field)) throw new TypeError(`unsupported field name: ${JSON.stringify(field)}`);
  return `${fn}(data, '$.${field}')`;
}

/** Collection names that can stand in SQL as a literal without quoting. */
const PLAIN_COLLECTION = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** SQLite's primary result codes for "another connection holds the lock". */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/** What SQLite threw, as the port's error: StoreBusyError for a lock held past the busy timeout. */
function storeFailure(error: unknown, busyTimeoutMs: number, doing?: string): StoreUnavailableError {
  const prefix = doing ? `sqlite: ${doing}: ` : 'sqlite: ';
  const errcode = (error as { errcode?: unknown }).errcode;
  const primary = typeof errcode === 'number' ? errcode & 0xff : undefined;
  if (primary === SQLITE_BUSY || primary === SQLITE_LOCKED) {
    return new StoreBusyError(`${prefix}the database is locked by another connection (waited ${busyTimeoutMs} ms)`, { cause: error });
  }
  return new StoreUnavailableError(`${prefix}${(error as Error).message}`, { cause: error });
}

const PRIVATE_DIRECTORY = 0o700;
const PRIVATE_FILE = 0o600;
/** Files SQLite keeps beside the database; it creates them with the database file's mode. */
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'];

const modeOf = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * The database's folder 0700 and file 0600 before SQLite opens it, so no umask decides (SQLite
 * gives the -wal and -shm files it creates the database file's mode). What an older run left
 * readable by others is tightened; what is not ours to close (a sticky folder such as /tmp,
 * another user's) is left as it is, with a warning.
 */
function preparePrivateFiles(path: string, log: StoreLogger): void {
  const directory = dirname(resolve(path));
  const created = mkdirSync(directory, { recursive: true, mode: PRIVATE_DIRECTORY });
  if (created !== undefined) {
    // every folder mkdir made, from the database's up to the first it created
    for (let folder = directory; ; folder = dirname(folder)) {
      chmodSync(folder, PRIVATE_DIRECTORY);
      if (folder === created || folder === dirname(folder)) break;
    }
  } else {
    tighten(directory, PRIVATE_DIRECTORY, log, (stat) => stat.isDirectory() && (stat.mode & 0o1000) === 0);
  }
  try {
    const fd = openSync(path, 'wx', PRIVATE_FILE);
    try {
      fchmodSync(fd, PRIVATE_FILE);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    tighten(path, PRIVATE_FILE, log, (stat) => stat.isFile());
  }
  for (const suffix of COMPANION_SUFFIXES) tighten(`${path}${suffix}`, PRIVATE_FILE, log, (stat) => stat.isFile());
}

/** Takes group and other permissions off an existing `path` of ours (of the kind `closable` allows), and says so. */
function tighten(path: string, mode: number, log: StoreLogger, closable: (stat: Stats) => boolean): void {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((stat.mode & 0o077) === 0) return;
  if (!closable(stat) || stat.uid !== process.getuid?.()) {
    log.warn('sqlite: left a path others may read as it is: not ours to close', { path, mode: modeOf(stat.mode) });
    return;
  }
  chmodSync(path, mode);
  log.warn('sqlite: tightened the mode of a path others could read', { path, from: modeOf(stat.mode), to: modeOf(mode) });
}

/** Expired rows deleted per statement: the write lock is let go between batches. */
const SWEEP_BATCH = 500;
const SWEEP_MAX_BATCHES = 20;

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

/**
 * `field` equals `value` by type and value, as on Firestore. json_extract alone would not do:
 * it reads a missing field and a null both as NULL, true as 1, and a map or list as its JSON
 * text. The json_extract comparison stays first so the expression indexes still serve it;
 * json_type (a literal per type, never a caller's text) then tells the types apart.
 */
function filterClause(field: string, value: FilterValue): { sql: string; param?: string | number } {
  const extracted = fieldExpression(field);
  const type = fieldExpression(field, 'json_type');
  if (value === null) return { sql: `${extracted} IS NULL AND ${type} = 'null'` };
  if (typeof value === 'boolean') return { sql: `${extracted} = ? AND ${type} = '${value ? 'true' : 'false'}'`, param: Number(value) };
  // integers and reals are one type, numbers, as on Firestore: 1 equals 1.0
  if (typeof value === 'number') return { sql: `${extracted} = ? AND ${type} IN ('integer', 'real')`, param: value };
  return { sql: `${extracted} = ? AND ${type} = 'text'`, param: value };
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
  readonly #busyTimeoutMs: number;
  readonly #log: StoreLogger;
  readonly #statements: Record<'get' | 'insert' | 'upsert' | 'remove' | 'sweep' | 'begin' | 'commit' | 'rollback', StatementSync>;
  readonly #queries = new Map<string, StatementSync>();
  readonly #reads = new Map<string, StatementSync>();
  readonly #sweeper: NodeJS.Timeout;
  #sweepFailures = 0;

  /** Throws StoreUnavailableError (StoreBusyError when locked), saying which file, when the database cannot be opened. */
  constructor(options: SqliteStoreOptions) {
    this.#indexes = options.indexes;
    this.#maxAttempts = options.maxTransactionAttempts ?? 5;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.#log = options.logger ?? stderrLogger;
    let db: DatabaseSync | undefined;
    try {
      if (options.path !== ':memory:') preparePrivateFiles(options.path, this.#log);
      db = new DatabaseSync(options.path, { timeout: this.#busyTimeoutMs });
      db.exec(`
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
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
      for (const index of options.indexes ?? []) createIndex(db, index);
      this.#statements = {
        // Rows as arrays (so too the queries'): node:sqlite builds a row object property by
        // property from C++, ≈ 10k instructions of a ≈ 240k GET /items/:id (BENCH_ONLY=instructions).
        get: returningArrays(db.prepare('SELECT data, version, expires_at FROM documents WHERE collection = ? AND id = ?')),
        // A create may reuse the id of an expired document, never of a live one.
        insert: db.prepare(`
          INSERT INTO documents (collection, id, data, version, expires_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (collection, id) DO UPDATE
            SET data = excluded.data, version = excluded.version, expires_at = excluded.expires_at
            WHERE documents.expires_at IS NOT NULL AND documents.expires_at <= ?`),
        upsert: db.prepare(`
          INSERT INTO documents (collection, id, data, version, expires_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (collection, id) DO UPDATE
            SET data = excluded.data, version = excluded.version, expires_at = excluded.expires_at`),
        remove: db.prepare('DELETE FROM documents WHERE collection = ? AND id = ?'),
        // Prepared once: exec would compile each of them again on every transaction.
        begin: db.prepare('BEGIN IMMEDIATE'),
        commit: db.prepare('COMMIT'),
        rollback: db.prepare('ROLLBACK'),
        sweep: db.prepare(`
          DELETE FROM documents WHERE (collection, id) IN (
            SELECT collection, id FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ${SWEEP_BATCH})`),
      };
    } catch (error) {
      if (db?.isOpen) db.close();
      if (error instanceof StoreError) throw error;
      throw storeFailure(error, this.#busyTimeoutMs, `cannot open the database at ${options.path}`);
    }
    this.#db = db;
    this.#sweeper = setInterval(() => this.#sweep(), options.sweepIntervalMs ?? 60_000);
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
    const { sql, params, limit } = this.#plan(collection, spec);
    return this.#guard(() => {
      const rows = this.#prepared(sql).all(...params) as unknown as [id: string, data: string][];
      const documents = rows.slice(0, limit).map(([id, data]) => ({ id, data: JSON.parse(data) as T }));
      const last = documents.at(-1);
      const nextCursor = rows.length > limit && last ? encodeCursor(collection, spec, last) : null;
      return { documents, nextCursor };
    });
  }

  /** SQLite's plan for `query(collection, spec)` (EXPLAIN QUERY PLAN details), for specs and diagnostics: which index serves it. */
  explainQuery(collection: string, spec: QuerySpec): string[] {
    const { sql, params } = this.#plan(collection, spec);
    return this.#guard(() => (this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail));
  }

  #prepared(sql: string): StatementSync {
    let statement = this.#queries.get(sql);
    if (!statement) {
      statement = returningArrays(this.#db.prepare(sql));
      this.#queries.set(sql, statement);
    }
    return statement;
  }

  /** The SQL and parameters of a query, after the port's rules and the index check. */
  #plan(collection: string, spec: QuerySpec): { sql: string; params: (string | number | null)[]; limit: number } {
    assertName('collection', collection);
    assertQuery(spec);
    const needed = requiredIndex(collection, spec);
    if (needed && this.#indexes && !this.#indexes.some((index) => indexCovers(index, needed))) {
      throw new MissingIndexError(
        `query on ${collection} needs a composite index on ${needed.fields.map((f) => `${f.field} ${f.order}`).join(', ')}; declare it in firestore.indexes.json`,
      );
    }
    const limit = Math.trunc(spec.limit);
    if (!(limit >= 1 && limit <= 1000)) throw new TypeError('limit must be 1..1000');
    const filters = Object.entries(spec.where ?? {});
    const after = decodeCursor(collection, spec);
    const order = spec.orderBy;
    const direction = order?.direction === 'desc' ? 'DESC' : 'ASC';
    const orderExpression = order ? fieldExpression(order.field) : null;

    const clauses = [`collection = ${sqlText(collection)}`, '(expires_at IS NULL OR expires_at > ?)'];
    const params: (string | number | null)[] = [Date.now()];
    for (const [field, value] of filters) {
      const filter = filterClause(field, value);
      clauses.push(filter.sql);
      if (filter.param !== undefined) params.push(filter.param);
    }
    // As on Firestore, ordering by a field leaves out the documents that lack it.
    if (order) clauses.push(`${fieldExpression(order.field, 'json_type')} IS NOT NULL`);
    if (after) {
      const comparison = direction === 'DESC' ? '<' : '>';
      if (!orderExpression) {
        clauses.push(`id ${comparison} ?`);
        params.push(after.id);
      } else if (after.value === null || after.value === undefined) {
        // Nulls sort first: after a null come the later nulls, and (ascending) every non-null.
        clauses.push(`((${orderExpression} IS NULL AND id ${comparison} ?)${direction === 'ASC' ? ` OR ${orderExpression} IS NOT NULL` : ''})`);
        params.push(after.id);
      } else {
        // A row-value comparison is never true for a null: descending, the nulls still follow.
        clauses.push(`((${orderExpression}, id) ${comparison} (?, ?)${direction === 'DESC' ? ` OR ${orderExpression} IS NULL` : ''})`);
        params.push(toSqlValue(after.value), after.id);
      }
    }
    const orderBy = orderExpression ? `${orderExpression} ${direction}, id ${direction}` : `id ${direction}`;
    const sql = `SELECT id, data FROM documents WHERE ${clauses.join(' AND ')} ORDER BY ${orderBy} LIMIT ?`;
    params.push(limit + 1);
    return { sql, params, limit };
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

  /** Deletes expired rows, a batch at a time. A failure is logged and the next interval tries again. */
  #sweep(): void {
    try {
      const now = Date.now();
      this.#guard(() => {
        for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch += 1) {
          if (this.#statements.sweep.run(now).changes < SWEEP_BATCH) break;
        }
      });
    } catch (error) {
      this.#sweepFailures += 1;
      this.#log.error('sqlite: expiry sweep failed; the next one tries again', { err: error, failures: this.#sweepFailures });
      return;
    }
    if (this.#sweepFailures > 0) {
      this.#log.info('sqlite: expiry sweep recovered', { failures: this.#sweepFailures });
      this.#sweepFailures = 0;
    }
  }

  /** The live row, or undefined when missing or expired. */
  #read(collection: string, id: string): Row | undefined {
    assertName('collection', collection);
    assertName('document id', id);
    const byCollection = this.#readStatement(collection);
    const columns = (byCollection ? byCollection.get(id) : this.#statements.get.get(collection, id)) as unknown as
      [data: string, version: number, expiresAt: number | null] | undefined;
    if (!columns || (columns[2] !== null && columns[2] <= Date.now())) return undefined;
    return { data: columns[0], version: columns[1], expires_at: columns[2] };
  }

  /**
   * The read of one document of `collection`, with the name written into the statement: it then
   * binds one string, not two (node:sqlite converts and copies each, ≈ 2 000 instructions of a
   * read). Only for plain names, which need no quoting, and a bounded number of them.
   */
  #readStatement(collection: string): StatementSync | undefined {
    let statement = this.#reads.get(collection);
    if (statement === undefined && PLAIN_COLLECTION.test(collection) && this.#reads.size < 100) {
      statement = returningArrays(this.#db.prepare(`SELECT data, version, expires_at FROM documents WHERE collection = ${sqlText(collection)} AND id = ?`));
      this.#reads.set(collection, statement);
    }
    return statement;
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
    const statements = this.#statements;
    statements.begin.run();
    try {
      const result = work();
      (result === false ? statements.rollback : statements.commit).run();
      return result;
    } catch (error) {
      if (this.#db.isTransaction) statements.rollback.run();
      throw error;
    }
  }

  /** Our typed errors pass through; anything SQLite throws means the store failed (or was locked). */
  #guard<R>(work: () => R): R {
    try {
      return work();
    } catch (error) {
      if (error instanceof StoreError || error instanceof TypeError) throw error;
      throw storeFailure(error, this.#busyTimeoutMs);
    }
  }
}

function returningArrays(statement: StatementSync): StatementSync {
  statement.setReturnArrays(true);
  return statement;
}

/**
 * One declared index, over its own collection's rows only (a partial index): a write to any
 * other collection — a rate-limit counter, a session — then updates none of the indexes it
 * has nothing to do with, where a full index on `documents` is rewritten on every write
 * (a counter's write appends 7 WAL frames instead of 1). An index of the same name but
 * another definition (an older version's) is replaced.
 */
function createIndex(db: DatabaseSync, index: IndexDefinition): void {
  const columns = index.fields.map((f) => `${fieldExpression(f.field)} ${f.order === 'desc' ? 'DESC' : 'ASC'}`);
  const name = `ix_${index.collection}_${index.fields.map((f) => `${f.field}_${f.order}`).join('_')}`.replace(/\W/g, '_');
  const last = index.fields.at(-1)?.order === 'desc' ? 'DESC' : 'ASC';
  const sql = `CREATE INDEX "${name}" ON documents (collection, ${columns.join(', ')}, id ${last}) WHERE collection = ${sqlText(index.collection)}`;
  const existing = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) as { sql: string } | undefined;
  if (existing?.sql === sql) return;
  if (existing) db.exec(`DROP INDEX "${name}"`);
  db.exec(sql);
}

/** A string as an SQL literal. Queries name their collection so, not as a parameter: SQLite uses a partial index only where the query's own text implies its WHERE. */
function sqlText(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
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
