/**
 * The one place errors become responses: `{ error: { code, message, requestId, details? } }`.
 * Clients get the code and message of an HttpError, never a stack or an internal message;
 * store (and blob store) failures become 503; everything unexpected is a bare 500, logged with its stack and
 * the request id.
 */
import { BlobStoreUnavailableError } from '../blobs/errors.ts';
import { InvalidCursorError, StoreUnavailableError, TransactionAbortedError } from '../store/errors.ts';
import type { Context, Middleware } from './context.ts';
import { BadRequestError, HttpError, ServiceUnavailableError } from './errors.ts';
import { reply } from './respond.ts';

function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof InvalidCursorError) return new BadRequestError('invalid_cursor', 'The cursor is not valid.');
  if (error instanceof StoreUnavailableError) {
    return new ServiceUnavailableError('store_unavailable', 'The data store did not answer in time. Retry shortly.');
  }
  if (error instanceof BlobStoreUnavailableError) {
    return new ServiceUnavailableError('blob_store_unavailable', 'File storage is unavailable; nothing was changed. Retry shortly.');
  }
  if (error instanceof TransactionAbortedError) {
    return new ServiceUnavailableError('store_contention', 'The data store is busy; nothing was changed. Retry shortly.');
  }
  // Anything else, a MissingIndexError (a deployment bug) included, is internal: 500, logged.
  return undefined;
}

export function respondWithError(ctx: Context, error: unknown): void {
  const mapped = toHttpError(error);
  const status = mapped?.status ?? 500;
  if (status >= 500) ctx.log.error('request failed', { err: error, status });
  if (ctx.res.headersSent) {
    // Too late for a clean answer: cut the connection rather than send a truncated success.
    ctx.res.destroy();
    return;
  }
  const body = {
    error: {
      code: mapped?.code ?? 'internal_error',
      message: mapped?.message ?? 'Something went wrong on our side. Quote the request id if you report it.',
      requestId: ctx.requestId,
      ...(mapped?.details === undefined ? {} : { details: mapped.details }),
    },
  };
  reply(ctx, status, body, mapped?.headers);
}

export function errorMapper(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      respondWithError(ctx, error);
    }
  };
}
