/**
 * Reconciling uploads' blobs with their documents: a blob under `uploads/` is kept while an
 * upload document names it (`blobKey`); one that none names (its upload died between storing
 * the bytes and writing the document, or its delete between removing the two) goes once older
 * than the grace, with whatever interrupted puts left (blobs/reconcile.ts does the work).
 *
 * `reconcileUploads` is one pass: the scheduled function `reconcile` (index.ts) runs it on
 * Cloud Functions. `startReconciler` runs one at once and then every interval, for the local
 * server, where a killed or stopped process leaves its uploads in flight half-written on disk.
 */
import type { Logger } from 'winston';
import type { BlobStore } from '../blobs/port.ts';
import { MIN_GRACE_MS, reconcileBlobs, type ReconcileBlobsReport } from '../blobs/reconcile.ts';
import { runPeriodically, type RunningPasses } from '../periodic.ts';
import type { DocumentStore } from '../store/port.ts';
import { UPLOADS } from '../policy/owned-data.ts';

/** Where uploads' blobs are kept (names.ts `blobKey`). */
export const UPLOAD_BLOB_PREFIX = 'uploads/';
/** An hour: far beyond the longest upload request (30 s), so nothing in flight is ever removed. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;
/** How often the local server reconciles. */
export const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;

export interface ReconcileUploadsOptions {
  store: DocumentStore;
  blobs: BlobStore;
  /** Where the outcome is logged; not logged unless given. */
  logger?: Logger | undefined;
  /** How old (ms) an unreferenced blob or a leftover must be before it goes; DEFAULT_GRACE_MS unless told. */
  graceMs?: number | undefined;
  /** The clock (epoch ms); Date.now unless told. */
  now?: (() => number) | undefined;
}

/** One pass. Throws (after logging, if it has a logger) when a store fails; the next pass tries again. */
export async function reconcileUploads(options: ReconcileUploadsOptions): Promise<ReconcileBlobsReport> {
  const { store, blobs, logger } = options;
  let report: ReconcileBlobsReport;
  try {
    report = await reconcileBlobs({
      blobs,
      prefix: UPLOAD_BLOB_PREFIX,
      graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
      now: options.now,
      async referenced(keys) {
        const named = await Promise.all(keys.map(async (key) => ((await store.query(UPLOADS, { where: { blobKey: key }, limit: 1 })).documents.length > 0 ? key : null)));
        return new Set(named.filter((key): key is string => key !== null));
      },
    });
  } catch (error) {
    logger?.error('could not reconcile upload blobs', { event: 'uploads.reconcile_failed', err: error });
    throw error;
  }
  const removed = report.orphans.keys.length + report.leftovers.files;
  logger?.log(removed > 0 ? 'info' : 'debug', 'upload blobs reconciled', {
    event: 'uploads.reconciled',
    scanned: report.scanned,
    orphanBlobs: report.orphans.keys.length,
    orphanBytes: report.orphans.bytes,
    leftoverFiles: report.leftovers.files,
    leftoverBytes: report.leftovers.bytes,
  });
  return report;
}

export interface ReconcilerOptions extends ReconcileUploadsOptions {
  logger: Logger;
  /** Between passes (ms); DEFAULT_INTERVAL_MS unless told. */
  intervalMs?: number | undefined;
}

/** A pass now, then one every interval (never two at once). The timer does not keep the process alive. */
export function startReconciler(options: ReconcilerOptions): RunningPasses {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  // Refused here, at start-up, rather than logged at every pass.
  if (!Number.isFinite(intervalMs) || intervalMs < 1000) throw new TypeError('intervalMs must be at least 1000');
  if (options.graceMs !== undefined && !(options.graceMs >= MIN_GRACE_MS)) throw new TypeError(`graceMs must be at least ${MIN_GRACE_MS}`);
  return runPeriodically(
    () =>
      reconcileUploads(options).then(
        () => {},
        () => {}, // logged by reconcileUploads; the next pass tries again
      ),
    intervalMs,
  );
}
