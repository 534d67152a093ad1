/**
 * The one place errors become HTTP: `{ error: { code, message, requestId, details? } }`, the
 * status from the error catalog, and the headers it implies — `WWW-Authenticate` on every 401,
 * `Retry-After` on 429 and 503. Clients get an ApiError's code and message, never a stack or an
 * internal message; store (and blob store) failures become 503; everything unexpected is a bare
 * 500, logged with its stack and the request id.
 */
import { BlobStoreUnavailableError } from '../blobs/errors.ts';
import { ApiError } from '../errors/api-error.ts';
import { ERRORS, type ErrorCode } from '../errors/catalog.ts';
import { InvalidCursorError, StoreUnavailableError, TransactionAbortedError } from '../store/errors.ts';
import { afterNext } from './compose.ts';
import type { Context, Middleware } from './context.ts';
import { reply } from './respond.ts';

/** The store and blob-store ports' own errors, in the catalog's terms. */
function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidCursorError) return new ApiError('invalid_cursor', { cause: error });
  if (error instanceof StoreUnavailableError) return new ApiError('store_unavailable', { cause: error });
  if (error instanceof BlobStoreUnavailableError) return new ApiError('blob_store_unavailable', { cause: error });
  if (error instanceof TransactionAbortedError) return new ApiError('store_contention', { cause: error });
  // Anything else, a MissingIndexError (a deployment bug) included, is internal: 500, logged.
  return undefined;
}

/** RFC 6750's quoted-string leaves out `"` and `\`. */
const quotable = (text: string) => text.replace(/["\\]/g, "'");

/** What a status implies beyond the error's own headers. */
export function headersFor(error: ApiError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  const spec: { status: number; challenge?: 'token' } = ERRORS[error.code];
  if (spec.status === 401) {
    headers['WWW-Authenticate'] =
      spec.challenge === 'token' ? `Bearer realm="bastion", error="invalid_token", error_description="${quotable(error.message)}"` : 'Bearer realm="bastion"';
  }
  const retryAfter = error.retryAfterSeconds ?? (spec.status === 503 ? 1 : undefined);
  if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
  return headers;
}

/** The body of an error answer; `code` and `message` straight from the catalog when there is no ApiError. */
export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}

export function respondWithError(ctx: Context, error: unknown): void {
  const mapped = toApiError(error);
  const status = mapped?.status ?? ERRORS.internal_error.status;
  if (status >= 500) ctx.log.error('request failed', { err: error, status });
  if (ctx.res.headersSent) {
    // Too late for a clean answer: cut the connection rather than send a truncated success.
    ctx.res.destroy();
    return;
  }
  const body = mapped ? errorBody(mapped.code, mapped.message, ctx.requestId, mapped.details) : errorBody('internal_error', ERRORS.internal_error.message, ctx.requestId);
  reply(ctx, status, body, mapped ? headersFor(mapped) : undefined);
}

export function errorMapper(): Middleware {
  return (ctx, next) =>
    afterNext(next, (error) => {
      if (error !== undefined) respondWithError(ctx, error);
    });
}
