/**
 * The document-store port: the only way domain code touches data.
 *
 * Two drivers implement it — embedded SQLite (`sqlite.ts`) and Firestore (`firestore.ts`) —
 * and one contract suite (test/store/contract.test.ts) holds both to the same behaviour.
 *
 * Documents are plain JSON objects. A document with a numeric `expiresAt` field (epoch ms)
 * reads as missing once that moment has passed, and the driver deletes it eventually (SQLite's
 * periodic sweep, Firestore's TTL policy).
 * Rules both drivers share live here, once: names (of collections, ids, queried fields), the
 * query's own rules (assertQuery), the cursor's length bound, and cursors (made and recognised
 * only here, so a driver never binds a value a caller made up). Not yet here: the page-size
 * range (1..1000) and reads-before-writes in a transaction, which each driver checks itself.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DocumentExistsError, InvalidCursorError } from './errors.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [field: string]: JsonValue };
export type DocumentData = Record<string, JsonValue>;

/** The field that makes a document expire (epoch milliseconds). */
export const EXPIRES_AT = 'expiresAt';

export type FilterValue = string | number | boolean | null;

export interface QuerySpec {
  /**
   * Equality filters, all of which must hold. Equal means the same type and value, as on
   * Firestore: null matches only a null (not a missing field), 1 neither true nor "1", and
   * every number is one type (1 equals 1.0).
   */
  where?: Readonly<Record<string, FilterValue>>;
  /**
   * One field to order by; ties are broken by document id in the same direction. The field
   * holds scalars of one type; null sorts first, and documents without the field are left out (as on Firestore).
   */
  orderBy?: { field: string; direction: 'asc' | 'desc' };
  /** At most this many documents (1..1000). */
  limit: number;
  /** The `nextCursor` of the previous page of this same query. Opaque to callers; any other is InvalidCursorError. */
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
    fields: [...equalities.map((field) => ({ field, order: 'asc' as const })), { field: order.field, order: order.direction }],
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

/**
 * Ids and collection names every driver accepts: Firestore's rules, which are the stricter —
 * 1 to 1500 characters, no '/', not '.' or '..', not `__…__`. Checked on every read, so as
 * plain tests: one regex with two lookaheads cost ~600 instructions of a GET /items/:id.
 */
function isSafeName(value: string): boolean {
  return value.length >= 1 && value.length <= 1500 && !value.includes('/') && value !== '.' && value !== '..' && !(value.startsWith('__') && RESERVED_NAME.test(value));
}
const RESERVED_NAME = /^__.*__$/;

/** Collection names already found safe: a handful of constants, checked on every call. */
const safeCollections = new Set<string>();

export function assertName(kind: 'collection' | 'document id', value: string): void {
  if (kind === 'collection' && safeCollections.has(value)) return;
  if (typeof value !== 'string' || !isSafeName(value)) {
    throw new TypeError(`invalid ${kind}: ${JSON.stringify(value)}`);
  }
  if (kind === 'collection' && safeCollections.size < 1000) safeCollections.add(value);
}

/**
 * Field names a query may filter or order on: top-level names. A dot is refused rather than
 * read as a path: Firestore would take `a.b` into a map `a` while a document's own field
 * `a.b` is a top-level name (update merges top-level fields), so one name would mean two
 * things. Reserved `__x__` names are refused too (Firestore reads `__name__` as the document id).
 */
const FIELD_NAME = /^(?!__.*__$)[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function assertFieldName(value: string): void {
  if (typeof value !== 'string' || !FIELD_NAME.test(value)) {
    throw new TypeError(`invalid field name: ${JSON.stringify(value)} (a query names top-level fields: letters, digits, _; no dots)`);
  }
}

/**
 * The query's own rules, checked before any driver runs it: field names (assertFieldName),
 * filter values (a string, a finite number, a boolean or null) and the order's direction.
 * decodeCursor checks them first, so every driver, which decodes the cursor before it
 * queries, refuses a bad query with the same TypeError.
 */
export function assertQuery(spec: QuerySpec): void {
  for (const [field, value] of Object.entries(spec.where ?? {})) {
    assertFieldName(field);
    if (!isOrderValue(value)) throw new TypeError(`invalid filter value for ${field}: a string, a finite number, a boolean or null`);
  }
  if (spec.orderBy) {
    assertFieldName(spec.orderBy.field);
    if (spec.orderBy.direction !== 'asc' && spec.orderBy.direction !== 'desc') throw new TypeError(`invalid order direction: ${JSON.stringify(spec.orderBy.direction)}`);
  }
}

/**
 * Creates the document unless one has that id already: false then (a token spent, a signature
 * seen, a mail handed over). The store's create is atomic, so of two at once exactly one is true.
 */
export async function createOnce(store: Pick<DocumentStore, 'create'>, collection: string, id: string, data: DocumentData): Promise<boolean> {
  try {
    await store.create(collection, id, data);
    return true;
  } catch (error) {
    if (error instanceof DocumentExistsError) return false;
    throw error;
  }
}

/** Every document of `collection` that the equality filters `where` match, page after page (the documents' twin of blobs/port.ts's listAllKeys). */
export async function queryAll<T extends DocumentData = DocumentData>(
  store: Pick<DocumentStore, 'query'>,
  collection: string,
  where: Readonly<Record<string, FilterValue>>,
): Promise<StoredDocument<T>[]> {
  const documents: StoredDocument<T>[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query<T>(collection, { where, limit: 100, cursor });
    documents.push(...page.documents);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return documents;
}

export function isExpired(data: DocumentData, now = Date.now()): boolean {
  const expiresAt = data[EXPIRES_AT];
  return typeof expiresAt === 'number' && expiresAt <= now;
}

/**
 * Cursors. A cursor is the position after the last document of a page: that document's order
 * value and id, with a digest of the query it was issued for (collection, filters, order), as
 * base64url JSON. It is opaque to callers, and the drivers only ever see one the port has
 * recognised as its own: of the right shape for this query (a scalar order value when there is
 * an order, none otherwise; a valid document id), issued for this very query, and in exactly
 * the bytes the port itself would have written. Anything else is InvalidCursorError (400
 * invalid_cursor), before any driver binds a value of it.
 *
 * Not signed, on purpose: a cursor grants nothing. Whoever holds one could run the query it
 * positions in anyway (filters, and so an owner's scope, come from the server, never from
 * the cursor), and a forged position only starts that query's listing elsewhere. A MAC would
 * need a key every instance shares and that outlives restarts and rotations, for no access
 * it protects.
 */
export interface CursorPosition {
  /** The order value of the last document (null for null); undefined for a query without orderBy. */
  value: FilterValue | undefined;
  id: string;
}

/** Longest cursor decoded (and issued): bounds the work a caller can make the server do. */
export const MAX_CURSOR_LENGTH = 4096;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const cursorId = z.string().refine(isSafeName);
/** A cursor's JSON, by the query's kind: with an order, the last order value (a scalar) too. */
const orderedCursor = z.strictObject({ q: z.string(), v: z.union([z.string(), z.number(), z.boolean(), z.null()]), id: cursorId });
const unorderedCursor = z.strictObject({ q: z.string(), v: z.undefined().optional(), id: cursorId });
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The query a cursor belongs to, as 11 base64url characters: filter values never travel in a cursor. */
function queryDigest(collection: string, spec: QuerySpec): string {
  const where = Object.entries(spec.where ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const order = spec.orderBy ? [spec.orderBy.field, spec.orderBy.direction] : null;
  return createHash('sha256')
    .update(JSON.stringify([collection, where, order]))
    .digest()
    .subarray(0, 8)
    .toString('base64url');
}

function isOrderValue(value: unknown): value is FilterValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function serialize(digest: string, position: CursorPosition): string {
  const body = position.value === undefined ? { q: digest, id: position.id } : { q: digest, v: position.value, id: position.id };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/**
 * The cursor after `last` in the query `spec` on `collection`. The order field must hold a
 * scalar (or be null): pages are ordered by scalars only.
 */
export function encodeCursor(collection: string, spec: QuerySpec, last: StoredDocument): string {
  let value: FilterValue | undefined;
  if (spec.orderBy) {
    const raw = last.data[spec.orderBy.field] ?? null;
    if (!isOrderValue(raw)) throw new TypeError(`cannot page on ${spec.orderBy.field}: ${last.id} holds a ${Array.isArray(raw) ? 'list' : 'map'} there`);
    value = raw;
  }
  const cursor = serialize(queryDigest(collection, spec), { value, id: last.id });
  if (cursor.length > MAX_CURSOR_LENGTH) throw new TypeError(`cannot page past ${last.id}: its cursor would be longer than ${MAX_CURSOR_LENGTH}`);
  return cursor;
}

/**
 * The position `spec.cursor` names, or undefined when there is none; InvalidCursorError unless
 * the port issued it for this query. TypeError first when the query itself breaks assertQuery.
 */
export function decodeCursor(collection: string, spec: QuerySpec): CursorPosition | undefined {
  assertQuery(spec);
  const { cursor } = spec;
  if (cursor === undefined) return undefined;
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw new InvalidCursorError();
  const digest = queryDigest(collection, spec);
  let decoded: unknown;
  try {
    decoded = JSON.parse(utf8.decode(Buffer.from(cursor, 'base64url')));
  } catch {
    throw new InvalidCursorError();
  }
  const parsed = spec.orderBy ? orderedCursor.safeParse(decoded) : unorderedCursor.safeParse(decoded);
  if (!parsed.success || parsed.data.q !== digest) throw new InvalidCursorError();
  const position: CursorPosition = { value: parsed.data.v, id: parsed.data.id };
  // Exactly the bytes the port writes: no other spelling (spacing, key order, escapes,
  // number forms, padding bits) of the same JSON is one of ours.
  if (serialize(digest, position) !== cursor) throw new InvalidCursorError();
  return position;
}
