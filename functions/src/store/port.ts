/**
 * The document-store port: the only way domain code touches data.
 *
 * Two drivers implement it — embedded SQLite (`sqlite.ts`) and Firestore (`firestore.ts`) —
 * and one contract suite (test/store/contract.test.ts) holds both to the same behaviour.
 *
 * Documents are plain JSON objects. A document with a numeric `expiresAt` field (epoch ms)
 * reads as missing once that moment has passed, and the driver deletes it eventually.
 */

import { InvalidCursorError } from './errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [field: string]: JsonValue };
export type DocumentData = { [field: string]: JsonValue };

/** The field that makes a document expire (epoch milliseconds). */
export const EXPIRES_AT = 'expiresAt';

export type FilterValue = string | number | boolean | null;

export interface QuerySpec {
  /** Equality filters, all of which must hold. */
  where?: Readonly<Record<string, FilterValue>>;
  /** One field to order by; ties are broken by document id in the same direction. */
  orderBy?: { field: string; direction: 'asc' | 'desc' };
  /** At most this many documents (1..1000). */
  limit: number;
  /** The `nextCursor` of the previous page. Opaque to callers. */
  cursor?: string | undefined;
}

export interface StoredDocument<T extends DocumentData = DocumentData> {
  id: string;
  data: T;
}

export interface Page<T extends DocumentData = DocumentData> {
  documents: StoredDocument<T>[];
  /** Present when more documents may follow. */
  nextCursor: string | null;
}

/** Work done inside `runTransaction`: reads first, then writes, applied all together or not at all. */
export interface Transaction {
  get<T extends DocumentData = DocumentData>(collection: string, id: string): Promise<T | null>;
  /** Fails the whole transaction with DocumentExistsError if the document exists. */
  create(collection: string, id: string, data: DocumentData): void;
  set(collection: string, id: string, data: DocumentData): void;
  /** Shallow merge of top-level fields; fails the transaction with DocumentNotFoundError if missing. */
  update(collection: string, id: string, patch: DocumentData): void;
  delete(collection: string, id: string): void;
}

export interface DocumentStore {
  /** Which driver this is, for logs and diagnostics. */
  readonly driver: 'sqlite' | 'firestore';
  get<T extends DocumentData = DocumentData>(collection: string, id: string): Promise<T | null>;
  /** Throws DocumentExistsError if a live document already has this id. */
  create(collection: string, id: string, data: DocumentData): Promise<void>;
  /** Creates or replaces. */
  set(collection: string, id: string, data: DocumentData): Promise<void>;
  /** Shallow merge of top-level fields; throws DocumentNotFoundError if missing. */
  update(collection: string, id: string, patch: DocumentData): Promise<void>;
  /** Deleting a missing document is not an error. */
  delete(collection: string, id: string): Promise<void>;
  query<T extends DocumentData = DocumentData>(collection: string, spec: QuerySpec): Promise<Page<T>>;
  /**
   * Runs `work` serializably. On a conflict with a concurrent writer the whole function is run
   * again (so it must not have side effects besides the transaction), up to a bounded number
   * of attempts, after which TransactionAbortedError is thrown.
   */
  runTransaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

/** A composite index, as declared in firestore.indexes.json. */
export interface IndexDefinition {
  collection: string;
  fields: { field: string; order: 'asc' | 'desc' }[];
}

/**
 * The composite index a query needs, by Firestore's rule: equality filters combined with an
 * order on another field. Single-field queries are served by automatic indexes.
 */
export function requiredIndex(collection: string, spec: QuerySpec): IndexDefinition | null {
  const equalities = Object.keys(spec.where ?? {});
  const order = spec.orderBy;
  if (equalities.length === 0 || !order || equalities.includes(order.field)) return null;
  return {
    collection,
    fields: [
      ...equalities.map((field) => ({ field, order: 'asc' as const })),
      { field: order.field, order: order.direction },
    ],
  };
}

/** True when `index` serves the query that needs `wanted`: same equality fields (any order), same order field last. */
export function indexCovers(index: IndexDefinition, wanted: IndexDefinition): boolean {
  if (index.collection !== wanted.collection || index.fields.length !== wanted.fields.length) return false;
  const lastWanted = wanted.fields.at(-1)!;
  const lastIndex = index.fields.at(-1)!;
  if (lastIndex.field !== lastWanted.field || lastIndex.order !== lastWanted.order) return false;
  const wantedEqualities = new Set(wanted.fields.slice(0, -1).map((f) => f.field));
  return index.fields.slice(0, -1).every((f) => wantedEqualities.has(f.field));
}

/** Reads firestore.indexes.json's shape into IndexDefinitions. */
export function parseFirestoreIndexes(json: unknown): IndexDefinition[] {
  const indexes = (json as { indexes?: unknown[] }).indexes ?? [];
  return indexes.map((raw) => {
    const index = raw as { collectionGroup: string; fields: { fieldPath: string; order?: string }[] };
    return {
      collection: index.collectionGroup,
      fields: index.fields.map((f) => ({
        field: f.fieldPath,
        order: f.order === 'DESCENDING' ? ('desc' as const) : ('asc' as const),
      })),
    };
  });
}

/** Ids and collection names every driver accepts: Firestore's rules, which are the stricter. */
const SAFE_NAME = /^(?!__.*__$)(?!\.\.?$)[^/]{1,1500}$/;

export function assertName(kind: 'collection' | 'document id', value: string): void {
  if (typeof value !== 'string' || !SAFE_NAME.test(value)) {
    throw new TypeError(`invalid ${kind}: ${JSON.stringify(value)}`);
  }
}

export function isExpired(data: DocumentData, now = Date.now()): boolean {
  const expiresAt = data[EXPIRES_AT];
  return typeof expiresAt === 'number' && expiresAt <= now;
}

/** Cursor: the last document's order value and id, base64url JSON. Opaque to callers. */
export function encodeCursor(orderValue: JsonValue | undefined, id: string): string {
  return Buffer.from(JSON.stringify([orderValue ?? null, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [JsonValue, string] {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[1] === 'string') {
      return decoded as [JsonValue, string];
    }
  } catch {
    // fall through: any undecodable cursor is the caller's mistake
  }
  throw new InvalidCursorError();
}
