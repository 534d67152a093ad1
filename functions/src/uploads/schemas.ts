/** What clients may send to the uploads routes, besides the multipart body (see multipart.ts). */
import { z } from 'zod';
import { listOwnedQuery } from '../store/owned.ts';

/** Upload ids are random (v4) UUIDs, as the server mints them. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const uploadParams = z.strictObject({
  id: z.string().regex(UPLOAD_ID_PATTERN, 'must be an upload id (a lower-case UUID)'),
});

export const listUploadsQuery = listOwnedQuery;
