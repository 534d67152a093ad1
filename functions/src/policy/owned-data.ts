/**
 * Where the functions keep what belongs to one account, declared once: the items and uploads
 * collections (each document's `ownerId`), the per-owner upload quota, and the bucket prefix of
 * its blobs. The items and uploads functions write there; exporting and deleting an account
 * (auth/account-data.ts) reads the same names, so neither misses what the other writes.
 */
export const ITEMS = 'items';
export const UPLOADS = 'uploads';
export const UPLOAD_QUOTAS = 'uploadQuotas';
/** The field naming the owner of an item or an upload. */
export const OWNER_FIELD = 'ownerId';

const PLAIN_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * An owner id as one path segment and document id. Our account ids (and Firebase uids) are
 * used as they are; any other token subject is encoded so no `/` or `..` can reach a path.
 * The `~` cannot occur in a plain id, so the two kinds never collide.
 */
export function ownerSegment(subject: string): string {
  return PLAIN_SEGMENT.test(subject) ? subject : `~${Buffer.from(subject, 'utf8').toString('base64url')}`;
}

/** Every blob of one owner's uploads is under this prefix. */
export function ownerBlobPrefix(ownerId: string): string {
  return `uploads/${ownerSegment(ownerId)}/`;
}

export function blobKey(ownerId: string, uploadId: string, extension: string): string {
  return `${ownerBlobPrefix(ownerId)}${uploadId}.${extension}`;
}
