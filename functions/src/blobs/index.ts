/**
 * Opens the configured blob driver. Cloud Storage's client is loaded on the first blob
 * operation, so the functions that never touch a file (auth, items) never load it.
 */
import type { Readable } from 'node:stream';
import type { Config } from '../config/index.ts';
import { DiskBlobStore } from './disk.ts';
import type { BlobInfo, BlobPage, BlobStore, LeftoversRemoved, ListPageOptions } from './port.ts';

/** A store opened by `open` on first use. */
class LazyBlobStore implements BlobStore {
  readonly driver: BlobStore['driver'];
  readonly #open: () => Promise<BlobStore>;
  #store: Promise<BlobStore> | undefined;

  constructor(driver: BlobStore['driver'], open: () => Promise<BlobStore>) {
    this.driver = driver;
    this.#open = open;
  }

  #opened(): Promise<BlobStore> {
    this.#store ??= this.#open().catch((error: unknown) => {
      this.#store = undefined; // let the next call retry
      throw error;
    });
    return this.#store;
  }

  async put(key: string, source: Readable, options: { contentType: string }): Promise<BlobInfo> {
    return (await this.#opened()).put(key, source, options);
  }
  async get(key: string): Promise<Readable> {
    return (await this.#opened()).get(key);
  }
  async stat(key: string): Promise<BlobInfo | null> {
    return (await this.#opened()).stat(key);
  }
  async delete(key: string): Promise<void> {
    return (await this.#opened()).delete(key);
  }
  async list(prefix: string): Promise<string[]> {
    return (await this.#opened()).list(prefix);
  }
  async listPage(prefix: string, options?: ListPageOptions): Promise<BlobPage> {
    return (await this.#opened()).listPage(prefix, options);
  }
  async removeLeftovers(before: Date): Promise<LeftoversRemoved> {
    return (await this.#opened()).removeLeftovers(before);
  }
  async close(): Promise<void> {
    if (this.#store) await (await this.#store).close();
  }
}

export function openBlobStore(config: Config['blobs']): BlobStore {
  if (config.driver === 'cloud-storage') {
    return new LazyBlobStore('cloud-storage', async () => {
      const { openCloudStorageBlobStore } = await import('./cloud-storage.ts');
      return openCloudStorageBlobStore({ bucket: config.bucket!, projectId: config.projectId });
    });
  }
  return new DiskBlobStore({ root: config.dir });
}
