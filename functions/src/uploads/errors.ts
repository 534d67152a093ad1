/**
 * Why an upload was refused, as stable codes. 415s say which of the three type witnesses
 * (the file name's extension, the part's declared Content-Type, the sniffed bytes)
 * disagreed, or that the image could not be decoded; `details` carries all three witnesses so
 * a client can show the person what was seen.
 */
import { ApiError, type ApiErrorArgs, type ApiErrorInit } from '../errors/api-error.ts';
import { ALLOWED_EXTENSIONS, ALLOWED_MIME_TYPES } from './file-types.ts';

export type RefusedTypeCode = 'extension_not_allowed' | 'declared_type_not_allowed' | 'content_not_allowed' | 'extension_mismatch' | 'declared_type_mismatch' | 'image_unreadable';

export interface TypeWitnesses {
  extension: string | null;
  declaredType: string;
  sniffedType: string | null;
}

/** What the catalog's messages for the refused types list. */
const ALLOWED: Partial<Record<RefusedTypeCode, string>> = {
  extension_not_allowed: ALLOWED_EXTENSIONS.map((extension) => `.${extension}`).join(', '),
  declared_type_not_allowed: ALLOWED_MIME_TYPES.join(', '),
  content_not_allowed: ALLOWED_MIME_TYPES.join(', '),
};

export class FileTypeRefusedError extends ApiError<RefusedTypeCode> {
  override name = 'FileTypeRefusedError';

  constructor(code: RefusedTypeCode, witnesses: TypeWitnesses, cause?: unknown) {
    const allowed = ALLOWED[code];
    super(code, { ...(allowed === undefined ? {} : { params: { allowed } }), details: witnesses, cause } as ApiErrorInit<RefusedTypeCode>);
  }
}

export type TooLargeCode = 'file_too_large' | 'quota_exceeded' | 'too_many_files' | 'image_too_large';

/** Over a limit: answered before the rest of the upload is read, so the connection closes. */
export class UploadTooLargeError<C extends TooLargeCode = TooLargeCode> extends ApiError<C> {
  override name = 'UploadTooLargeError';

  constructor(code: C, init: ApiErrorInit<C>) {
    super(code, ...([{ ...init, headers: { ...init.headers, Connection: 'close' } }] as ApiErrorArgs<C>));
  }
}
