/**
 * Cloud Storage driver for the blob-store port (@google-cloud/storage, which firebase-admin's
 * storage wraps), used when deployed and by the contract suite when STORAGE_EMULATOR_HOST is set.
 *
 * Uploads are single-request (not resumable) and conditional on the object not existing
 * (`ifGenerationMatch: 0`): Cloud Storage creates the object only when the whole request
 * arrives, so a source that fails midway leaves nothing, and no key is ever overwritten.
 * The library is imported on first use only.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from '@google-cloud/storage';
import { BlobExistsError, BlobNotFoundError, BlobStoreUnavailableError } from './errors.ts';
import { assertBlobKey, assertBlobPrefix, type BlobInfo, type BlobStore } from './port.ts';

export interface CloudStorageBlobStoreOptions {
  bucket: string;
  projectId?: string | undefined;
}

export async function openCloudStorageBlobStore(options: CloudStorageBlobStoreOptions): Promise<CloudStorageBlobStore> {
  const { Storage } = await import('@google-cloud/storage');
  // STORAGE_EMULATOR_HOST, when set, is honoured by the library itself.
  const storage = new Storage(options.projectId ? { projectId: options.projectId } : {});
  return new CloudStorageBlobStore(storage.bucket(options.bucket));
}

const statusOf = (error: unknown) => (error as { code?: unknown })?.code;

function unavailable(error: unknown): BlobStoreUnavailableError {
  return new BlobStoreUnavailableError('Cloud Storage failed or could not be reached', { cause: error });
}

export class CloudStorageBlobStore implements BlobStore {
  readonly driver = 'cloud-storage' as const;
  readonly #bucket: Bucket;

  constructor(bucket: Bucket) {
    this.#bucket = bucket;
  }

  async put(key: string, source: Readable, options: { contentType: string }): Promise<BlobInfo> {
    assertBlobKey(key);
    let sourceError: unknown;
    source.once('error', (error) => (sourceError ??= error));
    let size = 0;
    const counted = source.map((chunk: Buffer) => ((size += chunk.length), chunk));
    const sink = this.#bucket.file(key).createWriteStream({
      resumable: false,
      contentType: options.contentType,
      metadata: { cacheControl: 'private, no-store' },
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    try {
      await pipeline(counted, sink);
    } catch (error) {
      if (sourceError !== undefined) throw sourceError;
      if (statusOf(error) === 412) throw new BlobExistsError(key);
      throw unavailable(error);
    }
    return { size, contentType: options.contentType };
  }

  async get(key: string): Promise<Readable> {
    // The download starts only when read; ask first so a missing blob fails before any byte.
    if (!(await this.stat(key))) throw new BlobNotFoundError(key);
    return this.#bucket.file(key).createReadStream();
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertBlobKey(key);
    try {
      const [metadata] = await this.#bucket.file(key).getMetadata();
      return { size: Number(metadata.size), contentType: metadata.contentType ?? 'application/octet-stream' };
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw unavailable(error);
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    try {
      await this.#bucket.file(key).delete({ ignoreNotFound: true });
    } catch (error) {
      throw unavailable(error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    if (prefix !== '') assertBlobPrefix(prefix);
    try {
      const [files] = await this.#bucket.getFiles({ prefix, autoPaginate: true });
      return files.map((file) => file.name).sort();
    } catch (error) {
      throw unavailable(error);
    }
  }

  async close(): Promise<void> {}
}
