/**
 * Typed blob-store errors with stable codes, so callers and the error mapper never parse
 * messages. Drivers translate their own failures into these.
 */
export class BlobError extends Error {
  static readonly code: string = 'BLOB_ERROR';
  readonly code: string = BlobError.code;
}

export class BlobExistsError extends BlobError {
  static override readonly code = 'BLOB_EXISTS';
  override readonly code = BlobExistsError.code;
  constructor(key: string) {
    super(`blob ${key} already exists`);
  }
}

export class BlobNotFoundError extends BlobError {
  static override readonly code = 'BLOB_NOT_FOUND';
  override readonly code = BlobNotFoundError.code;
  constructor(key: string) {
    super(`blob ${key} does not exist`);
  }
}

/** The blob store could not be reached or failed; nothing was stored. */
export class BlobStoreUnavailableError extends BlobError {
  static override readonly code = 'BLOB_UNAVAILABLE';
  override readonly code = BlobStoreUnavailableError.code;
}
