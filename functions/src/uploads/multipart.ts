/**
 * Receives the one file of a multipart/form-data request with busboy, as a stream.
 *
 * On Cloud Functions the platform has already read the body into `req.rawBody`, so busboy is
 * fed from that buffer; everywhere else from the request stream, so memory stays flat whatever
 * the file's size. Every limit is busboy's own, enforced while parsing; going over one is a
 * 413 and fails the file's stream, so nothing is stored.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from '../pipeline/inputs.ts';
import { ApiError } from '../errors/api-error.ts';
import { UploadTooLargeError } from './errors.ts';

export interface MultipartLimits {
  /** Bytes of the one file. */
  fileBytes: number;
  /** Why `fileBytes` is what it is, for the 413's code. */
  fileLimitCode: 'file_too_large' | 'quota_exceeded';
}

/** The form field that carries the file; any other field is refused. */
export const FILE_FIELD = 'file';

/**
 * Bounds on everything that is not the file: a few small parts with few, short headers. Any
 * field is refused anyway (unexpected_field); these keep busboy's work small until then.
 */
const FORM_LIMITS = { files: 1, fields: 4, parts: 5, fieldNameSize: 100, fieldSize: 1024, headerPairs: 10 };
/** Room for boundaries and part headers around the file, for the Content-Length check. */
const FORM_OVERHEAD_BYTES = 16 * 1024;

export interface IncomingFile {
  stream: Readable;
  /** The client's file name, unsanitised. */
  filename: string | undefined;
  /** The part's declared Content-Type. */
  declaredType: string;
}

/**
 * Parses the request and calls `receive` with its file while the file streams in. `complete`
 * (also given to `receive`) settles once the whole body is parsed: it rejects if the body
 * breaks a limit or a rule after the file, so a consumer can hold back committing until then.
 * Resolves with `receive`'s result once both are done.
 */
export async function receiveSingleFile<T>(req: Request, limits: MultipartLimits, receive: (file: IncomingFile, complete: Promise<void>) => Promise<T>): Promise<T> {
  const declaredLength = Number(req.headers['content-length']);
  if (declaredLength > limits.fileBytes + FORM_OVERHEAD_BYTES) throw tooLarge(limits);

  // The validation stage has checked the Content-Type already (see pipeline/validate.ts).
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      // busboy reports its limit when a file reaches it, so a file of exactly the limit would
      // count as over: let it see one byte more, which only a file over the limit has.
      limits: { ...FORM_LIMITS, fileSize: limits.fileBytes + 1 },
    });
  } catch {
    throw new ApiError('unsupported_media_type', { params: { expected: 'multipart/form-data with a boundary' } });
  }

  let failure: unknown;
  let received: Promise<T> | undefined;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const complete = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  complete.catch(() => {}); // observed through `receive` or below; never unhandled

  // The first failure decides the answer; it is given at once, without reading the rest.
  const fail = (error: unknown) => {
    if (failure === undefined) {
      failure = error;
      if (error instanceof ApiError && !req.rawBody && !req.complete) error.headers.Connection = 'close';
    }
    settle.reject(failure);
  };
  const unexpectedField = (field: string) => new ApiError('unexpected_field', { params: { field: FILE_FIELD }, details: { field } });

  parser.on('file', (name, stream, info) => {
    if (name !== FILE_FIELD || received) {
      stream.resume();
      fail(unexpectedField(name));
      return;
    }
    stream.once('limit', () => {
      const error = tooLarge(limits);
      fail(error);
      stream.destroy(error);
    });
    received = receive({ stream, filename: info.filename, declaredType: info.mimeType }, complete);
    received.catch(fail);
  });
  parser.on('field', (name) => fail(unexpectedField(name)));
  parser.on('filesLimit', () => fail(new UploadTooLargeError('too_many_files', {})));
  parser.on('error', (error) => fail(new ApiError('malformed_multipart', { cause: error })));
  parser.on('finish', () => {
    if (!received) fail(new ApiError('file_required', { params: { field: FILE_FIELD } }));
    settle.resolve();
  });

  if (req.rawBody) {
    parser.end(req.rawBody);
  } else {
    // A client that goes away midway ends here (busboy's own errors are recorded above).
    pipeline(req, parser).catch((error: unknown) => fail(new ApiError('upload_aborted', { cause: error })));
  }

  try {
    await complete;
  } catch {
    // Let the receiver finish cleaning up (nothing stored) before answering.
    await received?.catch(() => {});
    throw failure;
  }
  return received!;
}

function tooLarge(limits: MultipartLimits): UploadTooLargeError {
  return limits.fileLimitCode === 'quota_exceeded'
    ? new UploadTooLargeError('quota_exceeded', { params: { left: limits.fileBytes }, details: { limitBytes: limits.fileBytes } })
    : new UploadTooLargeError('file_too_large', { params: { limit: limits.fileBytes }, details: { limitBytes: limits.fileBytes } });
}
