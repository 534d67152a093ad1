/**
 * Cloud Storage driver for the blob-store port (@google-cloud/storage, which firebase-admin's
 * storage wraps), used when deployed and by the contract suite when STORAGE_EMULATOR_HOST is set.
 *
 * Uploads are single-request (not resumable), sent once the source has ended, and conditional
 * on the object not existing (`ifGenerationMatch: 0`): a source that fails midway sends
 * nothing, and no key is ever overwritten. An upload is all or nothing and carries its content
 * type, so nothing is ever left half-written for `removeLeftovers`. Listings page with the
 * API's own page tokens, wrapped as the port's cursors.
 * The library is imported on first use only.
 */
import type { Readable } from 'node:stream';
import type { Bucket } from '@google-cloud/storage';
import { BlobExistsError, BlobNotFoundError, BlobStoreUnavailableError } from './errors.ts';
import {
  assertBlobKey,
  assertBlobPrefix,
  decodeBlobCursor,
  encodeBlobCursor,
  listAllKeys,
  pageLimit,
  type BlobInfo,
  type BlobPage,
  type BlobStore,
  type LeftoversRemoved,
  type ListPageOptions,
} from './port.ts';

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
    // Gathered first, sent in one request once complete: the library cannot abort an upload
    // request midway (a destroyed write stream leaves its socket waiting for the rest), so a
    // source that fails must fail before anything is sent. Uploads are at most a few MiB, and
    // on Cloud Functions the request body is in memory already.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of source) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    try {
      await this.#bucket.file(key).save(Buffer.concat(chunks, size), {
        resumable: false,
        contentType: options.contentType,
        metadata: { cacheControl: 'private, no-store' },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
    } catch (error) {
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
    assertBlobPrefix(prefix);
    return listAllKeys(this, prefix);
  }

  async listPage(prefix: string, options?: ListPageOptions): Promise<BlobPage> {
    assertBlobPrefix(prefix);
    const maxResults = pageLimit(options);
    const pageToken = options?.cursor === undefined ? undefined : decodeBlobCursor(options.cursor);
    try {
      const [files, next] = await this.#bucket.getFiles({ prefix, maxResults, autoPaginate: false, ...(pageToken ? { pageToken } : {}) });
      const token = (next as { pageToken?: string } | null)?.pageToken;
      return {
        // The API lists in key order.
        blobs: files.map((file) => ({ key: file.name, size: Number(file.metadata.size), createdAt: new Date(file.metadata.timeCreated!) })),
        nextCursor: token ? encodeBlobCursor(token) : null,
      };
    } catch (error) {
      throw unavailable(error);
    }
  }

  async removeLeftovers(_before: Date): Promise<LeftoversRemoved> {
    return { files: 0, bytes: 0 };
  }

  async close(): Promise<void> {}
}
