/**
 * Opens the configured driver, loading only that driver: Firestore's client takes half a
 * second to import, and `node:sqlite` is experimental in Node 22 (a warning at load) and
 * absent from older Node, so neither is imported unless chosen. The embedded driver enforces the composite indexes declared in firestore.indexes.json, so a
 * query that would fail on Firestore for want of an index fails locally too. Firestore's calls
 * get the configured deadline (`STORE_DEADLINE_MS`); on the embedded driver, which answers
 * in-process, the same deadline bounds how long a write waits for another process's lock
 * (`npm run admin` while `npm start` runs) before it fails with StoreBusyError.
 *
 * An embedded database that cannot be opened (a folder this user cannot write, a file that is
 * not a database, a lock held by another process) is a ConfigError: the entry points print a
 * ConfigError in words and exit, where anything else would be a stack trace on every restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Config } from '../config/index.ts';
import { StoreBusyError, StoreUnavailableError } from './errors.ts';
import { parseFirestoreIndexes, type DocumentStore, type IndexDefinition } from './port.ts';
import type { StoreLogger } from './sqlite.ts';

/** firestore.indexes.json at the repository root (absent in a deployed function, which uses Firestore). */
const INDEXES_FILE = fileURLToPath(new URL('../../../firestore.indexes.json', import.meta.url));

export function declaredIndexes(file = INDEXES_FILE): IndexDefinition[] | undefined {
  return existsSync(file) ? parseFirestoreIndexes(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
}

export interface OpenStoreOptions {
  /** Where the embedded driver reports its background work (expiry sweeps, tightened file modes); stderr by default. */
  logger?: StoreLogger;
}

export async function openStore(config: Config['store'], options: OpenStoreOptions = {}): Promise<DocumentStore> {
  if (config.driver === 'firestore') {
    const { openFirestoreStore } = await import('./firestore.ts');
    return openFirestoreStore({ projectId: config.projectId, deadlineMs: config.deadlineMs });
  }
  const { SqliteDocumentStore } = await import('./sqlite.ts');
  try {
    return new SqliteDocumentStore({
      path: config.sqlitePath,
      indexes: declaredIndexes(),
      busyTimeoutMs: config.deadlineMs,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (error) {
    if (error instanceof StoreBusyError) {
      throw new ConfigError(`${error.message}: another process holds it (the server, npm start, or npm run admin on the same DATA_DIR); try again, or stop that process first`, {
        cause: error,
      });
    }
    if (error instanceof StoreUnavailableError) {
      throw new ConfigError(`${error.message}: DATA_DIR (or SQLITE_PATH) must name a folder this user can write, on a disk with room, holding bastion's database or nothing`, {
        cause: error,
      });
    }
    throw error;
  }
}
