/** What clients may send to the uploads routes, besides the multipart body (see multipart.ts). */
import { z } from 'zod';
import { listOwnedQuery } from '../policy/ownership.ts';

/** Upload ids are random (v4) UUIDs, as the server mints them. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const uploadParams = z.strictObject({
  id: z
    .string()
    .regex(UPLOAD_ID_PATTERN, 'must be an upload id (a lower-case UUID)')
    .meta({ examples: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'] }),
});

export const listUploadsQuery = listOwnedQuery;

/** What the uploads routes answer. */
export const uploadResponse = z
  .object({
    id: z.string().meta({ examples: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'] }),
    ownerId: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    contentType: z.enum(['image/png', 'image/jpeg', 'image/gif']),
    originalName: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Upload' });

export const uploadPageResponse = z.object({ uploads: z.array(uploadResponse), nextCursor: z.string().nullable() }).meta({ id: 'UploadPage' });
