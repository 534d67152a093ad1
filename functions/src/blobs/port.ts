/**
 * The blob-store port: the only way domain code touches file bytes.
 *
 * Two drivers implement it — local disk (`disk.ts`, the embedded default) and Cloud Storage
 * (`cloud-storage.ts`) — and one contract suite (test/blobs/contract.test.ts) holds both to
 * the same behaviour.
 *
 * A blob appears whole or not at all: `put` makes it visible only once every byte of the source
 * has been stored, and if the source fails midway (a refused or aborted upload) nothing is left.
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  size: number;
  contentType: string;
}

export interface BlobStore {
  /** Which driver this is, for logs and diagnostics. */
  readonly driver: 'disk' | 'cloud-storage';
  /**
   * Stores everything `source` yields under `key`, which must be new (BlobExistsError
   * otherwise, the existing blob untouched). If `source` errors, `put` rejects with that very
   * error and stores nothing.
   */
  put(key: string, source: Readable, options: { contentType: string }): Promise<BlobInfo>;
  /** The blob's bytes, streamed; BlobNotFoundError (before any byte) if there is none. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | null>;
  /** Deleting a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Keys every driver accepts: `/`-separated segments of letters, digits, `.`, `_`, `-` and `~`,
 * none of them `.` or `..`. Nothing a client sends ever becomes a key unchecked, and no key
 * can climb out of the disk driver's folder.
 */
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._~-]{1,200}$/;

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
