/**
 * Why an upload was refused, as stable codes. 415s say which of the three type witnesses
 * (the file name's extension, the part's declared Content-Type, the sniffed bytes)
 * disagreed, or that the image could not be decoded; `details` carries all three witnesses so
 * a client can show the person what was seen.
 */
import { BadRequestError, HttpError, ServiceUnavailableError } from '../pipeline/errors.ts';
import { ALLOWED_EXTENSIONS, ALLOWED_MIME_TYPES } from './file-types.ts';

export type RefusedTypeCode =
  | 'extension_not_allowed'
  | 'declared_type_not_allowed'
  | 'content_not_allowed'
  | 'extension_mismatch'
  | 'declared_type_mismatch'
  | 'image_unreadable';

export interface TypeWitnesses {
  extension: string | null;
  declaredType: string;
  sniffedType: string | null;
}

const MESSAGES: Record<RefusedTypeCode, string> = {
  extension_not_allowed: `The file name must end in one of: ${ALLOWED_EXTENSIONS.map((e) => `.${e}`).join(', ')}.`,
  declared_type_not_allowed: `The file's declared Content-Type must be one of: ${ALLOWED_MIME_TYPES.join(', ')}.`,
  content_not_allowed: `The file's content is not one of: ${ALLOWED_MIME_TYPES.join(', ')}.`,
  extension_mismatch: "The file name's extension does not match the file's content.",
  declared_type_mismatch: "The file's declared Content-Type does not match the file's content.",
  image_unreadable: 'The image is malformed or truncated: it could not be decoded.',
};

export class FileTypeRefusedError extends HttpError {
  constructor(code: RefusedTypeCode, witnesses: TypeWitnesses, cause?: unknown) {
    super(415, code, MESSAGES[code], { details: witnesses, cause });
  }
}

/** Over a limit: answered before the rest of the upload is read, so the connection closes. */
export class UploadTooLargeError extends HttpError {
  constructor(code: 'file_too_large' | 'quota_exceeded' | 'too_many_files' | 'image_too_large', message: string, details?: unknown) {
    super(413, code, message, { details, headers: { Connection: 'close' } });
  }
}

export class EmptyFileError extends BadRequestError {
  constructor() {
    super('empty_file', 'The file is empty.');
  }
}

/** The instance is decoding as many images as it may, and as many wait: nothing was kept; retry. */
export class UploadBusyError extends ServiceUnavailableError {
  constructor() {
    super('upload_busy', 'Too many images are being processed right now; nothing was kept. Retry shortly.');
  }
}

/** The client went away (or the body broke off) before the upload was complete. */
export class UploadAbortedError extends BadRequestError {
  constructor(cause?: unknown) {
    super('upload_aborted', 'The upload ended before it was complete; nothing was kept.', { cause });
  }
}
