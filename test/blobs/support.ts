/**
 * Shared by the blob specs: the drivers under test (each spec that runs on every driver runs on
 * these), and what a blob folder holds, read straight off the disk.
 */
import { lstat, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBlobStore } from '../../functions/src/blobs/disk.ts';
import { waitFor } from '../../scripts/wait.ts';
import type { BlobStore } from '../../functions/src/blobs/port.ts';

export interface DriverUnderTest {
  name: string;
  enabled: boolean;
  /** What a run needs for this driver's leg, said when it is skipped. */
  missing: string;
  /**
   * Whether the backend enforces create-only writes. Cloud Storage does (`ifGenerationMatch: 0`,
   * checked against a fake endpoint in cloud-storage.test.ts); its emulator ignores preconditions.
   */
  enforcesCreateOnly: boolean;
  open(): Promise<{ blobs: BlobStore; dispose(): Promise<void> }>;
}

export const drivers: DriverUnderTest[] = [
  {
    name: 'disk',
    enabled: true,
    missing: '',
    enforcesCreateOnly: true,
    open: async () => {
      const root = await mkdtemp(join(tmpdir(), 'bastion-blob-contract-'));
      return { blobs: new DiskBlobStore({ root }), dispose: () => rm(root, { recursive: true, force: true }) };
    },
  },
  {
    name: 'cloud-storage',
    enabled: Boolean(process.env.STORAGE_EMULATOR_HOST),
    missing: 'STORAGE_EMULATOR_HOST is not set (see the README, "Tests")',
    enforcesCreateOnly: !process.env.STORAGE_EMULATOR_HOST,
    open: async () => {
      const { openCloudStorageBlobStore } = await import('../../functions/src/blobs/cloud-storage.ts');
      const projectId = process.env.GCLOUD_PROJECT ?? 'demo-bastion';
      const blobs = await openCloudStorageBlobStore({ bucket: process.env.STORAGE_BUCKET ?? `${projectId}.appspot.com`, projectId });
      return { blobs, dispose: async () => {} };
    },
  },
];

/** Every file under `root` (the driver's own `.partial` and `.meta` included), relative, sorted. */
export async function filesUnder(root: string): Promise<string[]> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => !entry.isDirectory())
      .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * How many blobs the disk driver under `root` is writing right now (or a crash left): the files
 * in its `.partial` folder, where a blob is written before it is renamed into place.
 */
export async function partialCount(root: string): Promise<number> {
  try {
    return (await readdir(join(root, '.partial'))).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** `root` and everything under it, with its permission bits: `{ '.': 0o700, 'a/b': 0o600, … }`. */
export async function modesUnder(root: string): Promise<Record<string, number>> {
  const modes: Record<string, number> = { '.': (await lstat(root)).mode & 0o777 };
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    modes[path.slice(root.length + 1)] = (await lstat(path)).mode & 0o777;
  }
  return modes;
}

/** Sets a file's times `ms` into the past, as if it had been written then. */
export async function backdate(path: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(path, then, then);
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * A moment after every blob now under `prefix` was stored, once the clock has passed it: blobs
 * put from now on are stored at or after it. No backend lets a spec write an object in the
 * past, so specs of age move the reconciler's clock past this boundary instead.
 */
export async function pastNewest(blobs: BlobStore, prefix: string): Promise<number> {
  const page = await blobs.listPage(prefix, { limit: 1000 });
  const boundary = Math.max(0, ...page.blobs.map((blob) => blob.createdAt.getTime())) + 1;
  // File times come from a coarse clock (a few ms behind Date.now): be a little past it.
  await waitFor(() => Date.now() > boundary + 20, { timeoutMs: 2000, what: 'the clock past the newest blob', intervalMs: 5 });
  return boundary;
}
