/**
 * Local-disk driver for the blob-store port: the embedded default for `npm start` and tests.
 *
 * A blob is written to `.partial/` first, flushed, and then hard-linked into place: the link
 * makes it visible atomically and fails if the key exists, so a reader never sees half a file
 * and nothing is overwritten. Its content type is committed only once the link has made the key
 * this put's (written whole in `.partial/`, then renamed into `.meta/`), so a refused put never
 * touches the blob that holds the key. A blob whose type is not there (the instant between the
 * two steps, or for ever if the process died there) reads as application/octet-stream, as
 * Cloud Storage reads an object stored without one.
 *
 * A failing disk (full, over quota, read-only, out of file handles, an I/O error) is
 * BlobStoreUnavailableError, and the put removes whatever it wrote. What a process that died
 * midway left (`.partial/` files, a `.meta/` entry whose blob is gone) is for `removeLeftovers`.
 * Folders are made 0700 and files 0600 whatever the umask: blobs are users' files.
 *
 * The file system is a collaborator (node:fs/promises unless told) so that specs can fail any
 * one call as a failing disk would, beside the real faults they also cause.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobExistsError, BlobNotFoundError, BlobStoreUnavailableError } from './errors.ts';
import {
  assertBlobKey,
  assertBlobPrefix,
  decodeBlobCursor,
  encodeBlobCursor,
  listAllKeys,
  pageLimit,
  type BlobEntry,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type LeftoversRemoved,
  type ListPageOptions,
} from './port.ts';

const PARTIAL = '.partial';
const META = '.meta';
const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;
const UNTYPED = 'application/octet-stream';

/** The file-system calls the driver makes. */
export type DiskFileSystem = Pick<typeof nodeFs, 'chmod' | 'link' | 'lstat' | 'mkdir' | 'open' | 'readFile' | 'readdir' | 'rename' | 'unlink'>;

const isCode = (error: unknown, ...codes: string[]) => codes.includes((error as NodeJS.ErrnoException)?.code ?? '');

function unavailable(error: unknown): BlobStoreUnavailableError {
  const code = (error as NodeJS.ErrnoException)?.code;
  return new BlobStoreUnavailableError(`the blob folder could not be written or read${code ? ` (${code})` : ''}`, { cause: error });
}

/** The source's own failure, told apart from the disk's: put rejects with `error` itself. */
class SourceFailure extends Error {
  override name = 'SourceFailure';
  readonly error: unknown;
  constructor(error: unknown) {
    super('the source stream failed', { cause: error });
    this.error = error;
  }
}

async function* chunksOf(source: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
  } catch (error) {
    throw new SourceFailure(error);
  }
}

export interface DiskBlobStoreOptions {
  /** Folder that holds the blobs, created (0700) on first write. */
  root: string;
  /** The file system; node:fs/promises unless told (specs pass one that fails as a bad disk does). */
  fs?: DiskFileSystem | undefined;
}

export class DiskBlobStore implements BlobStore {
  readonly driver = 'disk' as const;
  readonly #root: string;
  readonly #fs: DiskFileSystem;

  constructor(options: DiskBlobStoreOptions) {
    this.#root = options.root;
    this.#fs = options.fs ?? nodeFs;
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
    const partialMeta = `${partial}.json`;
    let linked = false;
    try {
      await this.#folder(dirname(partial));
      const size = await this.#writeNew(partial, chunksOf(source));
      await this.#folder(dirname(target));
      try {
        await this.#fs.link(partial, target);
      } catch (error) {
        if (isCode(error, 'EEXIST')) throw new BlobExistsError(key);
        throw error;
      }
      linked = true;
      // The key is this put's now: its content type, whole, goes next to it.
      await this.#writeNew(partialMeta, [Buffer.from(JSON.stringify({ contentType: options.contentType }))]);
      await this.#folder(dirname(this.#metaPath(key)));
      await this.#fs.rename(partialMeta, this.#metaPath(key));
      return { size, contentType: options.contentType };
    } catch (error) {
      if (linked) await this.#removeIfPresent(target).catch(() => {});
      await this.#removeIfPresent(partialMeta).catch(() => {});
      if (error instanceof SourceFailure) throw error.error;
      source.destroy(); // what is left of it will never be read
      if (error instanceof BlobExistsError) throw error;
      throw unavailable(error);
    } finally {
      await this.#removeIfPresent(partial).catch(() => {});
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.#path(key);
    let handle: nodeFs.FileHandle;
    try {
      handle = await this.#fs.open(path, 'r');
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) throw new BlobNotFoundError(key);
      throw unavailable(error);
    }
    try {
      // A folder (a key that is only other keys' prefix) opens too, and is no blob.
      if (!(await handle.stat()).isFile()) throw new BlobNotFoundError(key);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error instanceof BlobNotFoundError ? error : unavailable(error);
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const path = this.#path(key);
    try {
      const info = await this.#statIfPresent(path);
      if (!info?.isFile()) return null;
      return { size: info.size, contentType: await this.#contentType(key) };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      // The blob first: once it is gone the key reads as missing, whatever happens next.
      await this.#removeIfPresent(path);
      await this.#removeIfPresent(this.#metaPath(key));
    } catch (error) {
      throw unavailable(error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertBlobPrefix(prefix);
    return listAllKeys(this, prefix);
  }

  /** Each page walks the prefix's folder again: the cursor is the last key shown, so nothing is held between pages. */
  async listPage(prefix: string, options?: ListPageOptions): Promise<BlobPage> {
    assertBlobPrefix(prefix);
    const limit = pageLimit(options);
    const after = options?.cursor === undefined ? undefined : decodeBlobCursor(options.cursor);
    if (after !== undefined) assertBlobKey(after);
    const keys: string[] = [];
    const folder = join(this.#root, prefix.slice(0, prefix.lastIndexOf('/') + 1));
    try {
      await this.#walk(folder, (path) => {
        const key = relative(this.#root, path).split(sep).join('/');
        if (key.startsWith(prefix) && (after === undefined || key > after)) keys.push(key);
      });
      keys.sort();
      const blobs: BlobEntry[] = [];
      let next = 0;
      for (; next < keys.length && blobs.length < limit; next++) {
        const info = await this.#statIfPresent(join(this.#root, keys[next]!));
        if (info?.isFile()) blobs.push({ key: keys[next]!, size: info.size, createdAt: info.mtime });
      }
      // Stopped early only with a full page: the last key shown is where the next page starts.
      return { blobs, nextCursor: next < keys.length ? encodeBlobCursor(blobs.at(-1)!.key) : null };
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * `.partial/` holds only puts in flight and dead ones: those last written before `before`
   * go. A `.meta/` entry whose blob is gone (a delete, or a put, cut short between its two
   * steps) goes too once as old: a put writes its type only after its blob is in place.
   */
  async removeLeftovers(before: Date): Promise<LeftoversRemoved> {
    const removed: LeftoversRemoved = { files: 0, bytes: 0 };
    const remove = async (path: string, size: number) => {
      if (await this.#removeIfPresent(path)) {
        removed.files += 1;
        removed.bytes += size;
      }
    };
    const metaRoot = join(this.#root, META);
    try {
      const partials: string[] = [];
      await this.#walk(join(this.#root, PARTIAL), (path) => partials.push(path));
      for (const path of partials) {
        const info = await this.#statIfPresent(path);
        if (info && info.mtime < before) await remove(path, info.size);
      }
      const metas: string[] = [];
      await this.#walk(metaRoot, (path) => metas.push(path));
      for (const path of metas) {
        const info = await this.#statIfPresent(path);
        if (!info || !(info.mtime < before) || !path.endsWith('.json')) continue;
        const key = relative(metaRoot, path).slice(0, -'.json'.length);
        if (!(await this.#statIfPresent(join(this.#root, key)))) await remove(path, info.size);
      }
    } catch (error) {
      throw unavailable(error);
    }
    return removed;
  }

  async close(): Promise<void> {}

  // -------------------------------------------------------------------------------------------

  /**
   * The folder and any missing parents, one at a time, each made 0700 before the next is made
   * in it: mkdir's mode is narrowed by the umask, and a umask could leave a folder unwritable.
   */
  async #folder(path: string): Promise<void> {
    try {
      await this.#fs.mkdir(path, { mode: FOLDER_MODE });
    } catch (error) {
      if (isCode(error, 'EEXIST')) return;
      if (!isCode(error, 'ENOENT') || dirname(path) === path) throw error;
      await this.#folder(dirname(path));
      try {
        await this.#fs.mkdir(path, { mode: FOLDER_MODE });
      } catch (again) {
        if (isCode(again, 'EEXIST')) return; // made meanwhile by a concurrent put
        throw again;
      }
    }
    await this.#fs.chmod(path, FOLDER_MODE);
  }

  /** A new file (0600) holding `chunks`, flushed to the disk before it is closed. */
  async #writeNew(path: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<number> {
    const handle = await this.#fs.open(path, 'wx', FILE_MODE);
    let size = 0;
    try {
      await handle.chmod(FILE_MODE); // open's mode is narrowed by the umask too
      for await (const chunk of chunks) {
        for (let offset = 0; offset < chunk.length;) {
          offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
        }
        size += chunk.length;
      }
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    await handle.close();
    return size;
  }

  async #contentType(key: string): Promise<string> {
    try {
      return (JSON.parse(await this.#fs.readFile(this.#metaPath(key), 'utf8')) as { contentType: string }).contentType;
    } catch (error) {
      if (isCode(error, 'ENOENT')) return UNTYPED;
      throw error;
    }
  }

  async #statIfPresent(path: string): Promise<Stats | null> {
    try {
      return await this.#fs.lstat(path);
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return null;
      throw error;
    }
  }

  /** True if there was a file to remove. A folder (a key that is only others' prefix) is no blob. */
  async #removeIfPresent(path: string): Promise<boolean> {
    try {
      await this.#fs.unlink(path);
      return true;
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) return false;
      throw error;
    }
  }

  /**
   * Calls `onFile` with every file under `folder` (none if it does not exist). Names that
   * start with a dot are never keys (port.ts): they are the driver's own (`.partial`, `.meta`).
   */
  async #walk(folder: string, onFile: (path: string) => void): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await this.#fs.readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isFile()) onFile(path);
      else if (entry.isDirectory()) await this.#walk(path, onFile);
    }
  }
}
