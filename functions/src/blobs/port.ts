/**
 * The blob-store port: the only way domain code touches file bytes.
 *
 * Two drivers implement it — local disk (`disk.ts`, the embedded default) and Cloud Storage
 * (`cloud-storage.ts`) — and one contract suite (test/blobs/contract.test.ts) holds both to
 * the same behaviour.
 *
 * A blob appears whole or not at all: `put` makes it visible only once every byte of the source
 * has been stored, and if the source fails midway (a refused or aborted upload) nothing is left.
 * A process that dies midway (a crash, a kill) may leave pieces the store cannot see; drivers
 * find and remove them with `removeLeftovers`, and blobs/reconcile.ts removes whole blobs that
 * nothing refers to.
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  size: number;
  contentType: string;
}

/** A blob as a listing shows it. */
export interface BlobEntry {
  key: string;
  size: number;
  /** When it was stored: Cloud Storage's `timeCreated`, the file's mtime on disk. */
  createdAt: Date;
}

export interface BlobPage {
  blobs: BlobEntry[];
  /** Present when more blobs may follow: pass it back as `cursor`. Opaque to callers. */
  nextCursor: string | null;
}

export interface ListPageOptions {
  /** At most this many blobs (1..1000); 100 unless told. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/** What `removeLeftovers` removed. */
export interface LeftoversRemoved {
  files: number;
  bytes: number;
}

export interface BlobStore {
  /** Which driver this is, for logs and diagnostics. */
  readonly driver: 'disk' | 'cloud-storage';
  /**
   * Stores everything `source` yields under `key`, which must be new (BlobExistsError
   * otherwise, the existing blob and its content type untouched). If `source` errors, `put`
   * rejects with that very error and stores nothing; if the store fails (a full or read-only
   * disk, an unreachable bucket), with BlobStoreUnavailableError, and stores nothing.
   */
  put(key: string, source: Readable, options: { contentType: string }): Promise<BlobInfo>;
  /** The blob's bytes, streamed; BlobNotFoundError (before any byte) if there is none. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | null>;
  /** Deleting a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** One page of the blobs whose keys start with `prefix`, sorted by key. */
  listPage(prefix: string, options?: ListPageOptions): Promise<BlobPage>;
  /**
   * Removes what puts interrupted by a dying process left behind (never visible as blobs) and
   * last written before `before`, so a put still in flight is never touched.
   */
  removeLeftovers(before: Date): Promise<LeftoversRemoved>;
  close(): Promise<void>;
}

/**
 * Keys every driver accepts: `/`-separated segments of letters, digits, `.`, `_`, `-` and `~`,
 * none of them starting with a dot (so never `.` or `..`). Nothing a client sends ever becomes a
 * key unchecked, no key can climb out of the disk driver's folder, and none can name the
 * driver's own folders (`.partial`, `.meta`).
 */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/;

export function assertBlobKey(key: string): void {
  const segments = typeof key === 'string' ? key.split('/') : [];
  if (segments.length === 0 || key.length > 1024 || !segments.every((s) => SEGMENT.test(s))) {
    throw new TypeError(`invalid blob key: ${JSON.stringify(key)}`);
  }
}

/** Prefixes are keys, optionally ending in `/`, or empty (everything). */
export function assertBlobPrefix(prefix: string): void {
  if (prefix !== '') assertBlobKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

export const DEFAULT_PAGE_SIZE = 100;

/** Cursors of both drivers: a driver's own position (a key, a page token), opaque to callers. */
export function encodeBlobCursor(position: string): string {
  return Buffer.from(JSON.stringify([position])).toString('base64url');
}

/** The position in a cursor `encodeBlobCursor` made; TypeError for anything else. */
export function decodeBlobCursor(cursor: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 1 && typeof decoded[0] === 'string' && decoded[0] !== '') return decoded[0];
  } catch {
    // fall through
  }
  throw new TypeError('invalid blob cursor');
}

/** The page size `options` asks for, checked as both drivers check it. */
export function pageLimit(options: ListPageOptions | undefined): number {
  const limit = options?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new TypeError('limit must be an integer in 1..1000');
  return limit;
}

/** Every key under `prefix`, page after page: `list`, for both drivers. */
export async function listAllKeys(blobs: Pick<BlobStore, 'listPage'>, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await blobs.listPage(prefix, { limit: 1000, cursor });
    keys.push(...page.blobs.map((blob) => blob.key));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return keys;
}
