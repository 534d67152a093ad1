/**
 * Removes what a dying process leaves in a blob store: blobs nothing refers to (stored, but the
 * process died before writing the record that points at them) and the driver's own leftovers
 * (half-written files, orphaned metadata: BlobStore.removeLeftovers).
 *
 * Whether a blob is referred to is the caller's question (`referenced`); this module knows
 * only the port. Nothing younger than the grace is touched, measured against when each blob
 * or leftover was written (not when this process started), so a put in flight, or a blob whose
 * record is still being written, is never removed. Blobs are asked about only once older than
 * the grace, by which time a record that is coming has come.
 */
import type { BlobStore, LeftoversRemoved } from './port.ts';

/** At least this: well past the longest request that stores a blob and then its record. */
export const MIN_GRACE_MS = 60_000;

export interface ReconcileBlobsOptions {
  blobs: BlobStore;
  /** Only blobs whose keys start with this are considered. */
  prefix: string;
  /** Which of `keys` something still refers to; every other one is removed. */
  referenced: (keys: string[]) => Promise<ReadonlySet<string>>;
  /** How old (ms) an unreferenced blob or a leftover must be before it is removed; at least MIN_GRACE_MS. */
  graceMs: number;
  /** The clock (epoch ms); Date.now unless told. */
  now?: (() => number) | undefined;
  /** Blobs listed per page (and asked about per `referenced` call). */
  pageSize?: number | undefined;
}

export interface ReconcileBlobsReport {
  /** Blobs looked at. */
  scanned: number;
  /** Unreferenced blobs removed, and their bytes. */
  orphans: { keys: string[]; bytes: number };
  leftovers: LeftoversRemoved;
}

export async function reconcileBlobs(options: ReconcileBlobsOptions): Promise<ReconcileBlobsReport> {
  const { blobs, prefix, referenced, graceMs, pageSize = 100 } = options;
  const now = options.now ?? (() => Date.now());
  if (!Number.isFinite(graceMs) || graceMs < MIN_GRACE_MS) throw new TypeError(`graceMs must be at least ${MIN_GRACE_MS}`);
  const cutoff = now() - graceMs;
  const report: ReconcileBlobsReport = { scanned: 0, orphans: { keys: [], bytes: 0 }, leftovers: { files: 0, bytes: 0 } };
  let cursor: string | undefined;
  do {
    const page = await blobs.listPage(prefix, { limit: pageSize, cursor });
    report.scanned += page.blobs.length;
    const old = page.blobs.filter((blob) => blob.createdAt.getTime() < cutoff);
    const kept = old.length > 0 ? await referenced(old.map((blob) => blob.key)) : new Set<string>();
    for (const blob of old) {
      if (kept.has(blob.key)) continue;
      await blobs.delete(blob.key);
      report.orphans.keys.push(blob.key);
      report.orphans.bytes += blob.size;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  report.leftovers = await blobs.removeLeftovers(new Date(cutoff));
  return report;
}
