/**
 * Opens the configured driver, loading only that driver: Firestore's client takes half a
 * second to import, and `node:sqlite` is experimental in Node 22 (a warning at load) and
 * absent from older Node, so neither is imported unless chosen. The embedded driver enforces the composite indexes declared in firestore.indexes.json, so a
 * query that would fail on Firestore for want of an index fails locally too. Firestore's calls
 * get the configured deadline (`STORE_DEADLINE_MS`); the embedded driver answers in-process,
 * synchronously, so there is nothing for a deadline to cut.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/index.ts';
import { parseFirestoreIndexes, type DocumentStore, type IndexDefinition } from './port.ts';

/** firestore.indexes.json at the repository root (absent in a deployed function, which uses Firestore). */
const INDEXES_FILE = fileURLToPath(new URL('../../../firestore.indexes.json', import.meta.url));

export function declaredIndexes(file = INDEXES_FILE): IndexDefinition[] | undefined {
  return existsSync(file) ? parseFirestoreIndexes(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
}

export async function openStore(config: Config['store']): Promise<DocumentStore> {
  if (config.driver === 'firestore') {
    const { openFirestoreStore } = await import('./firestore.ts');
    return openFirestoreStore({ projectId: config.projectId, deadlineMs: config.deadlineMs });
  }
  const { SqliteDocumentStore } = await import('./sqlite.ts');
  return new SqliteDocumentStore({ path: config.sqlitePath, indexes: declaredIndexes() });
}
