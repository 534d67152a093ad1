/**
 * The embedded store when its database fails: real SQLite faults (a statement the database
 * refuses, a lock another connection holds past the busy timeout, a file that is not a
 * database, a folder this user cannot write), never imitations of SQLite. The process stays
 * up and says what happened; the store answers 503 while the fault lasts and recovers after;
 * a start-up that cannot open the database ends in words, not a stack trace.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StoreBusyError, StoreUnavailableError } from '../../functions/src/store/errors.ts';
import { SqliteDocumentStore, type StoreLogger } from '../../functions/src/store/sqlite.ts';
import { waitFor } from '../../scripts/wait.ts';
import { startApi } from '../support/api.ts';
import { hasStackTrace, run } from './server-process.ts';

interface Line {
  level: 'error' | 'warn' | 'info';
  message: string;
  fields: Record<string, unknown>;
}

function capturingLogger(): StoreLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (message: string, fields: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, error: at('error'), warn: at('warn'), info: at('info') };
}

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'bastion-faults-')), 'bastion.sqlite');

/** The ids left in the file, read by a connection of the spec's own. */
function idsInFile(path: string): string[] {
  const raw = new DatabaseSync(path, { readOnly: true, timeout: 5000 });
  try {
    return (raw.prepare('SELECT id FROM documents ORDER BY id').all() as { id: string }[]).map((row) => row.id);
  } finally {
    raw.close();
  }
}

/** Faults made in the database itself, through a second connection, and how each is cleared. */
const faults: { name: string; inject(db: DatabaseSync): void; clear(db: DatabaseSync): void; error: RegExp }[] = [
  {
    name: 'a delete the database refuses (as a failing disk would)',
    inject: (db) => db.exec(`CREATE TRIGGER fault BEFORE DELETE ON documents BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END`),
    clear: (db) => db.exec('DROP TRIGGER fault'),
    error: /disk I\/O error \(injected\)/,
  },
  {
    name: 'a write lock another process holds past the busy timeout',
    inject: (db) => db.exec('BEGIN IMMEDIATE'),
    clear: (db) => db.exec('ROLLBACK'),
    error: /locked by another connection/,
  },
];

describe('SQLite document store under faults', function () {
  describe('the expiry sweep', function () {
    for (const fault of faults) {
      it(`logs ${fault.name}, keeps the process and the store up, and sweeps again once it clears`, async function () {
        const path = freshPath();
        const logger = capturingLogger();
        const store = new SqliteDocumentStore({ path, sweepIntervalMs: 20, busyTimeoutMs: 50, logger });
        const other = new DatabaseSync(path, { timeout: 5000 });
        try {
          await store.set('sessions', 'live', { v: 1 });
          await store.set('sessions', 'old', { expiresAt: Date.now() + 100 });
          fault.inject(other);
          const failures = () => logger.lines.filter((line) => line.level === 'error' && line.message.includes('expiry sweep failed'));
          // An uncaught throw from the sweep would fail this spec (and, in the server, end the process).
          await waitFor(() => failures().length >= 2, { timeoutMs: 5000, what: 'two failed sweeps to be logged' });
          const logged = failures()[0]!.fields.err as Error;
          assert.ok(logged instanceof StoreUnavailableError, 'logged as the store failing');
          assert.match(logged.message, fault.error);
          // meanwhile the store answers, and a write the fault stops fails as the port's error (a 503)
          assert.deepEqual(await store.get('sessions', 'live'), { v: 1 });
          await assert.rejects(store.delete('sessions', 'live'), StoreUnavailableError);

          fault.clear(other);
          await waitFor(() => logger.lines.some((line) => line.level === 'info' && line.message.includes('expiry sweep recovered')), {
            timeoutMs: 5000,
            what: 'a sweep to succeed after the fault cleared',
          });
          assert.deepEqual(idsInFile(path), ['live'], 'the expired document was purged from the file');
          await store.delete('sessions', 'live');
        } finally {
          other.close();
          await store.close();
        }
      });
    }
  });

  describe('a lock another process holds', function () {
    it('makes a write wait up to the busy timeout, then fail with StoreBusyError; it succeeds once the lock goes', async function () {
      const path = freshPath();
      const store = new SqliteDocumentStore({ path, busyTimeoutMs: 200 });
      const other = new DatabaseSync(path, { timeout: 5000 });
      try {
        other.exec('BEGIN IMMEDIATE');
        const started = performance.now();
        await assert.rejects(store.set('things', 'a', { v: 1 }), StoreBusyError);
        assert.ok(performance.now() - started >= 150, 'it waited for the lock first');
        await assert.rejects(
          store.runTransaction(async (tx) => tx.set('things', 'a', { v: 1 })),
          StoreBusyError,
        );
        assert.equal(await store.get('things', 'a'), null, 'reads go on (WAL), and nothing was written');
        other.exec('ROLLBACK');
        await store.set('things', 'a', { v: 1 });
        assert.deepEqual(idsInFile(path), ['a']);
      } finally {
        other.close();
        await store.close();
      }
    });

    it('answers 503 store_unavailable over HTTP while held, and 201 once let go', async function () {
      const path = freshPath();
      const api = await startApi({}, { store: new SqliteDocumentStore({ path, busyTimeoutMs: 100 }) });
      const other = new DatabaseSync(path, { timeout: 5000 });
      try {
        const token = await api.token({ sub: 'alice', roles: ['user'] });
        const item = { name: 'Desk lamp', description: 'warm light for late work' };
        other.exec('BEGIN IMMEDIATE');
        const busy = await api.request('POST', '/items', { token, body: item });
        assert.equal(busy.status, 503, busy.text);
        assert.equal(busy.json.error.code, 'store_unavailable');
        other.exec('ROLLBACK');
        const created = await api.request('POST', '/items', { token, body: item });
        assert.equal(created.status, 201, created.text);
      } finally {
        other.close();
        await api.close();
      }
    });
  });

  describe('start-up on a database it cannot open', function () {
    this.timeout(30_000);

    /** `node functions/src/server.ts` on `dataDir`; it must end by itself (it cannot listen). */
    const startServer = (dataDir: string, env: Record<string, string> = {}, options = {}) =>
      run('functions/src/server.ts', [], { ...options, env: { DATA_DIR: dataDir, PORT: '0', ...env } });

    function assertEndsInWords(result: { status: number | null; stderr: string }, words: RegExp): void {
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, words);
      assert.equal(hasStackTrace(result.stderr), false, `a stack trace:\n${result.stderr}`);
    }

    it('a file that is not a database: exit 1, naming the file, no stack trace', async function () {
      const dataDir = mkdtempSync(join(tmpdir(), 'bastion-faults-'));
      writeFileSync(join(dataDir, 'bastion.sqlite'), 'these are not the bytes of a database\n'.repeat(100));
      const result = await startServer(dataDir, { APP_ENV: 'test' });
      assertEndsInWords(result, /^bastion: sqlite: cannot open the database at .*bastion\.sqlite: file is not a database/m);
    });

    it('a DATA_DIR that is a file: exit 1, in words', async function () {
      const dataDir = join(mkdtempSync(join(tmpdir(), 'bastion-faults-')), 'not-a-folder');
      writeFileSync(dataDir, '');
      assertEndsInWords(await startServer(dataDir, { APP_ENV: 'test' }), /^bastion: .*cannot open the database at .*DATA_DIR/m);
      assertEndsInWords(await startServer(dataDir, { APP_ENV: 'development' }), /^bastion: cannot read the development key/m);
    });

    it('a DATA_DIR this user cannot write: exit 1, in words, in test and development alike', async function () {
      const dataDir = mkdtempSync(join(tmpdir(), 'bastion-faults-'));
      // Root writes anywhere: the server then runs as nobody, in a folder root keeps to itself.
      const root = process.getuid?.() === 0;
      chmodSync(dataDir, root ? 0o755 : 0o500);
      const options = root ? { user: { uid: 65534, gid: 65534 } } : {};
      try {
        assertEndsInWords(await startServer(dataDir, { APP_ENV: 'test' }, options), /^bastion: sqlite: cannot open the database at .*EACCES.*DATA_DIR/m);
        assertEndsInWords(await startServer(dataDir, { APP_ENV: 'development' }, options), /^bastion: cannot write the development key .*EACCES/m);
      } finally {
        chmodSync(dataDir, 0o700);
      }
    });
  });
});
