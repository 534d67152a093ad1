/** Shared helpers of the upload specifications. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { partialCount } from '../blobs/support.ts';
import type { Response, TestApi } from '../support/api.ts';
import { fileForm, type MultipartBody } from '../support/multipart.ts';

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function postForm(api: TestApi, token: string, form: MultipartBody, headers: Record<string, string> = {}): Promise<Response> {
  return api.request('POST', '/uploads', { token, raw: form.body, headers: { 'content-type': form.contentType, ...headers } });
}

export function upload(api: TestApi, token: string, filename: string, contentType: string, data: Buffer | string): Promise<Response> {
  return postForm(api, token, fileForm(filename, contentType, data));
}

/** Nothing of any upload is kept: no blob, no half-written blob, no metadata, no quota used. */
export async function assertNothingStored(api: TestApi): Promise<void> {
  assert.deepEqual(await api.blobs.list('uploads/'), [], 'no blob');
  if (api.blobDir) assert.equal(await partialCount(api.blobDir), 0, 'no partial blob');
  const documents = await api.store.query('uploads', { limit: 10 });
  assert.deepEqual(documents.documents, [], 'no metadata document');
  const quotas = await api.store.query('uploadQuotas', { limit: 10 });
  assert.ok(
    quotas.documents.every((q) => q.data.bytes === 0),
    'no quota used',
  );
}
