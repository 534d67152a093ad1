/**
 * Typed blob-store errors with stable codes, so callers and the error mapper never parse
 * messages. Drivers translate their own failures into these. Each sets `name`, so logs name it.
 */
export class BlobError extends Error {
  static readonly code: string = 'BLOB_ERROR';
  readonly code: string = BlobError.code;
  override name = 'BlobError';
}

export class BlobExistsError extends BlobError {
  static override readonly code = 'BLOB_EXISTS';
  override readonly code = BlobExistsError.code;
  override name = 'BlobExistsError';
  constructor(key: string) {
    super(`blob ${key} already exists`);
  }
}

export class BlobNotFoundError extends BlobError {
  static override readonly code = 'BLOB_NOT_FOUND';
  override readonly code = BlobNotFoundError.code;
  override name = 'BlobNotFoundError';
  constructor(key: string) {
    super(`blob ${key} does not exist`);
  }
}

/**
 * The blob store could not be reached or failed (on disk: full, over quota, read-only, out of
 * file handles, an I/O error); nothing was stored. `cause` is the driver's own error.
 */
export class BlobStoreUnavailableError extends BlobError {
  static override readonly code = 'BLOB_UNAVAILABLE';
  override readonly code = BlobStoreUnavailableError.code;
  override name = 'BlobStoreUnavailableError';
}
