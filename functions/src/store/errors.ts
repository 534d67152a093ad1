/**
 * Typed store errors with stable codes, so callers and the error mapper never parse messages.
 * Drivers translate their own failures into these. Each sets `name`, so logs name it.
 */
export class StoreError extends Error {
  static readonly code: string = 'STORE_ERROR';
  readonly code: string = StoreError.code;
  override name = 'StoreError';
}

export class DocumentExistsError extends StoreError {
  static override readonly code = 'ALREADY_EXISTS';
  override readonly code = DocumentExistsError.code;
  override name = 'DocumentExistsError';
  constructor(collection: string, id: string) {
    super(`${collection}/${id} already exists`);
  }
}

export class DocumentNotFoundError extends StoreError {
  static override readonly code = 'NOT_FOUND';
  override readonly code = DocumentNotFoundError.code;
  override name = 'DocumentNotFoundError';
  constructor(collection: string, id: string) {
    super(`${collection}/${id} does not exist`);
  }
}

/**
 * The store could not be reached, failed, or did not answer within the call's deadline.
 * Nothing was written, unless a commit was sent and its answer never came (its outcome is
 * unknown; drivers send no write after the deadline and wait for the answer to one sent).
 */
export class StoreUnavailableError extends StoreError {
  static override readonly code: string = 'UNAVAILABLE';
  override readonly code: string = StoreUnavailableError.code;
  override name = 'StoreUnavailableError';
}

/**
 * Another connection (another process on the same SQLite file: `npm run admin`, a backup, a
 * second server) held the database's lock past the busy timeout. Nothing was written.
 */
export class StoreBusyError extends StoreUnavailableError {
  static override readonly code = 'BUSY';
  override readonly code = StoreBusyError.code;
  override name = 'StoreBusyError';
}

/** A transaction kept conflicting with concurrent writers and was given up; nothing was written. */
export class TransactionAbortedError extends StoreError {
  static override readonly code = 'ABORTED';
  override readonly code = TransactionAbortedError.code;
  override name = 'TransactionAbortedError';
}

export class InvalidCursorError extends StoreError {
  static override readonly code = 'INVALID_CURSOR';
  override readonly code = InvalidCursorError.code;
  override name = 'InvalidCursorError';
  constructor() {
    super('the cursor is not one this store issued');
  }
}

/** A query needs a composite index that firestore.indexes.json does not declare. */
export class MissingIndexError extends StoreError {
  static override readonly code = 'FAILED_PRECONDITION';
  override readonly code = MissingIndexError.code;
  override name = 'MissingIndexError';
}
