/**
 * Local-disk driver for the blob-store port: the embedded default for `npm start` and tests.
 *
 * A blob is written to `.partial/` first, flushed, and then hard-linked into place: the link
 * makes it visible atomically and fails if the key exists, so a reader never sees half a file
 * and nothing is overwritten. Content types live in `.meta/`, written before the link.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobExistsError, BlobNotFoundError, BlobStoreUnavailableError } from './errors.ts';
import { assertBlobKey, assertBlobPrefix, type BlobInfo, type BlobStore } from './port.ts';

const PARTIAL = '.partial';
const META = '.meta';

const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException)?.code === code;

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function unavailable(error: unknown): BlobStoreUnavailableError {
  return new BlobStoreUnavailableError('the blob folder could not be written or read', { cause: error });
}

export interface DiskBlobStoreOptions {
  /** Folder that holds the blobs, created on first write. */
  root: string;
}

export class DiskBlobStore implements BlobStore {
  readonly driver = 'disk' as const;
  readonly #root: string;

  constructor(options: DiskBlobStoreOptions) {
    this.#root = options.root;
  }

  #path(key: string): string {
    assertBlobKey(key);
    return join(this.#root, key);
  }

  #metaPath(key: string): string {
    return join(this.#root, META, `${key}.json`);
  }

  async put(key: string, source: Readable, options: { contentType: string }): Promise<BlobInfo> {
    const target = this.#path(key);
    const partial = join(this.#root, PARTIAL, randomUUID());
    let sourceError: unknown;
    source.once('error', (error) => (sourceError ??= error));
    let size = 0;
    try {
      await mkdir(dirname(partial), { recursive: true });
      const sink = createWriteStream(partial, { flags: 'wx', mode: 0o600, flush: true });
      await pipeline(source, sink);
      size = sink.bytesWritten;
      await mkdir(dirname(target), { recursive: true });
      await mkdir(dirname(this.#metaPath(key)), { recursive: true });
      await writeFile(this.#metaPath(key), JSON.stringify({ contentType: options.contentType }), { mode: 0o600 });
      await link(partial, target);
    } catch (error) {
      await removeIfPresent(partial).catch(() => {});
      if (sourceError !== undefined) throw sourceError;
      if (isCode(error, 'EEXIST')) throw new BlobExistsError(key);
      throw unavailable(error);
    }
    await removeIfPresent(partial).catch(() => {});
    return { size, contentType: options.contentType };
  }

  async get(key: string): Promise<Readable> {
    const path = this.#path(key);
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isCode(error, 'ENOENT')) throw new BlobNotFoundError(key);
      throw unavailable(error);
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const path = this.#path(key);
    try {
      const [info, meta] = await Promise.all([stat(path), readFile(this.#metaPath(key), 'utf8')]);
      return { size: info.size, contentType: (JSON.parse(meta) as { contentType: string }).contentType };
    } catch (error) {
      if (isCode(error, 'ENOENT')) return null;
      throw unavailable(error);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await removeIfPresent(path);
      await removeIfPresent(this.#metaPath(key));
    } catch (error) {
      throw unavailable(error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertBlobPrefix(prefix);
    // Walk only the folder the prefix names, not the whole tree.
    const folder = join(this.#root, prefix.slice(0, prefix.lastIndexOf('/') + 1));
    let entries;
    try {
      entries = await readdir(folder, { recursive: true, withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT')) return [];
      throw unavailable(error);
    }
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.#root, join(entry.parentPath, entry.name)).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix) && !key.startsWith(`${PARTIAL}/`) && !key.startsWith(`${META}/`))
      .sort();
  }

  /** Blobs being written right now (or left by a crash): for tests and diagnostics. */
  async partialCount(): Promise<number> {
    try {
      return (await readdir(join(this.#root, PARTIAL))).length;
    } catch (error) {
      if (isCode(error, 'ENOENT')) return 0;
      throw error;
    }
  }

  async close(): Promise<void> {}
}
