/**
 * Uploads: images checked as they stream in, re-encoded so that nothing but pixels is kept,
 * and stored in the blob store, with one metadata document each (describing the stored,
 * re-encoded bytes) and a per-owner byte quota. A blob is written only after every check
 * passed; the metadata document and the quota are written together afterwards, and if that
 * fails the blob is removed again. Another user's upload answers 404 exactly like a missing one.
 *
 * Receiving (busboy, file-type, image-size: receive.ts) is loaded with the first upload, and
 * sharp with the first image to re-encode, so the functions that never take one do not pay for
 * them at cold start.
 */
import { randomUUID } from 'node:crypto';
import { create as contentDisposition } from 'content-disposition';
import { BlobNotFoundError } from '../blobs/errors.ts';
import type { Principal } from '../pipeline/inputs.ts';
import type { HandlerInput, Reply } from '../pipeline/route.ts';
import { listOwned, mayAccess, type ListOwnedQuery } from '../policy/ownership.ts';
import type { DocumentStore } from '../store/port.ts';
import { ApiError } from '../errors/api-error.ts';
import { UploadTooLargeError } from './errors.ts';
import { UPLOADS, UPLOAD_QUOTAS, blobKey, ownerSegment } from '../policy/owned-data.ts';

interface UploadDocument {
  [field: string]: string | number;
  ownerId: string;
  /** Where the bytes are; the server's, never shown to clients. */
  blobKey: string;
  /** Of the stored bytes, the re-encoded image (not the file as sent). */
  size: number;
  sha256: string;
  /** The sniffed type, which the extension and the declared type agreed with, and the stored bytes have. */
  contentType: string;
  originalName: string;
  /** Of the stored image, its orientation applied (for an animation, of one frame). */
  width: number;
  height: number;
  createdAt: string;
}

interface QuotaDocument {
  [field: string]: number;
  bytes: number;
  files: number;
}

interface Params {
  id: string;
}

function toUpload(id: string, { blobKey: _, ...shown }: UploadDocument) {
  return { id, ...shown };
}

function notFound(): ApiError {
  return new ApiError('not_found', { params: { what: 'upload' } });
}

async function bytesUsed(store: DocumentStore, ownerId: string): Promise<number> {
  return (await store.get<QuotaDocument>(UPLOAD_QUOTAS, ownerSegment(ownerId)))?.bytes ?? 0;
}

/** The metadata document and the owner's usage, together; over the quota, nothing. */
async function recordUpload(store: DocumentStore, quotaBytes: number, id: string, upload: UploadDocument): Promise<void> {
  await store.runTransaction(async (tx) => {
    const quotaId = ownerSegment(upload.ownerId);
    const quota = (await tx.get<QuotaDocument>(UPLOAD_QUOTAS, quotaId)) ?? { bytes: 0, files: 0 };
    if (quota.bytes + upload.size > quotaBytes) {
      throw new UploadTooLargeError('quota_exceeded', { params: { left: quotaBytes - quota.bytes }, details: { limitBytes: quotaBytes - quota.bytes } });
    }
    tx.set(UPLOAD_QUOTAS, quotaId, { bytes: quota.bytes + upload.size, files: quota.files + 1 });
    tx.create(UPLOADS, id, upload);
  });
}

export async function createUpload({ request, principal, services, log }: HandlerInput<unknown, unknown, unknown>): Promise<Reply> {
  const { store, blobs, uploads: limits } = services;
  const ownerId = principal.subject;
  const left = limits.quotaBytesPerUser - (await bytesUsed(store, ownerId));
  if (left <= 0) throw new UploadTooLargeError('quota_exceeded', { params: { left: 0 }, details: { limitBytes: 0 } });
  const quotaBinds = left < limits.maxFileBytes;

  const id = randomUUID();
  const { receiveImage } = await import('./receive.ts');
  const stored = await receiveImage({
    request,
    blobs,
    key: (extension) => blobKey(ownerId, id, extension),
    maxBytes: quotaBinds ? left : limits.maxFileBytes,
    limitCode: quotaBinds ? 'quota_exceeded' : 'file_too_large',
    maxPixels: limits.maxPixels,
  });

  const { key, originalName, image } = stored;
  const upload: UploadDocument = {
    ownerId,
    blobKey: key,
    size: image.size,
    sha256: image.sha256,
    contentType: image.type.mime,
    originalName,
    width: image.width,
    height: image.height,
    createdAt: new Date().toISOString(),
  };
  try {
    await recordUpload(store, limits.quotaBytesPerUser, id, upload);
  } catch (error) {
    await blobs.delete(key).catch((cleanup: unknown) => log.error('could not remove the blob of a failed upload', { err: cleanup, blobKey: key }));
    throw error;
  }
  log.info('upload stored', { event: 'upload.created', uploadId: id, size: upload.size, contentType: upload.contentType });
  return { status: 201, body: toUpload(id, upload), headers: { Location: `/uploads/${id}` } };
}

export async function listUploads({ query, principal, services }: HandlerInput<unknown, ListOwnedQuery, unknown>): Promise<Reply> {
  const page = await listOwned<UploadDocument>(services.store, UPLOADS, principal, query);
  return { status: 200, body: { uploads: page.documents.map((d) => toUpload(d.id, d.data)), nextCursor: page.nextCursor } };
}

async function findUpload(services: HandlerInput<unknown, unknown, unknown>['services'], principal: Principal, id: string): Promise<UploadDocument> {
  const upload = await services.store.get<UploadDocument>(UPLOADS, id);
  if (!upload || !mayAccess(principal, upload)) throw notFound();
  return upload;
}

export async function getUpload({ params, principal, services }: HandlerInput<Params, unknown, unknown>): Promise<Reply> {
  return { status: 200, body: toUpload(params.id, await findUpload(services, principal, params.id)) };
}

/**
 * The bytes, as a download that no browser will render or run: the sniffed type with nosniff,
 * an attachment, and a sandboxing CSP in case it is opened anyway.
 */
export async function getUploadContent({ params, principal, services }: HandlerInput<Params, unknown, unknown>): Promise<Reply> {
  const upload = await findUpload(services, principal, params.id);
  let stream;
  try {
    stream = await services.blobs.get(upload.blobKey);
  } catch (error) {
    if (error instanceof BlobNotFoundError) throw notFound(); // deleted meanwhile
    throw error;
  }
  return {
    status: 200,
    stream,
    headers: {
      'Content-Type': upload.contentType,
      'Content-Length': String(upload.size),
      'Content-Disposition': contentDisposition(upload.originalName, { type: 'attachment' }),
      'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
      ETag: `"${upload.sha256}"`,
    },
  };
}

/**
 * The blob goes first: if the metadata write then fails the client retries, and deleting an
 * already deleted blob is not an error. The other order could strand an unreachable blob.
 */
export async function deleteUpload({ params, principal, services }: HandlerInput<Params, unknown, unknown>): Promise<Reply> {
  const upload = await findUpload(services, principal, params.id);
  await services.blobs.delete(upload.blobKey);
  await services.store.runTransaction(async (tx) => {
    const current = await tx.get<UploadDocument>(UPLOADS, params.id);
    if (!current) return; // a concurrent delete won
    const quotaId = ownerSegment(current.ownerId);
    const quota = await tx.get<QuotaDocument>(UPLOAD_QUOTAS, quotaId);
    if (quota) tx.set(UPLOAD_QUOTAS, quotaId, { bytes: Math.max(0, quota.bytes - current.size), files: Math.max(0, quota.files - 1) });
    tx.delete(UPLOADS, params.id);
  });
  return { status: 204 };
}
