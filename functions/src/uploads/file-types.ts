/**
 * The only file types uploads accept, and what each must look like. Raster images only: SVG
 * is a script-capable document, and anything a browser might render as a page is refused.
 */
export interface FileType {
  /** Canonical extension: the stored name's. */
  extension: 'png' | 'jpg' | 'gif';
  mime: 'image/png' | 'image/jpeg' | 'image/gif';
  /** Extensions a client's file name may carry for this type. */
  extensions: readonly string[];
  /** The bytes a well-formed file of this type ends with; anything after them is refused. */
  trailer: Buffer;
}

export const FILE_TYPES: readonly FileType[] = [
  {
    extension: 'png',
    mime: 'image/png',
    extensions: ['png'],
    // The IEND chunk: zero length, type, CRC.
    trailer: Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]),
  },
  { extension: 'jpg', mime: 'image/jpeg', extensions: ['jpg', 'jpeg'], trailer: Buffer.from([0xff, 0xd9]) },
  { extension: 'gif', mime: 'image/gif', extensions: ['gif'], trailer: Buffer.from([0x3b]) },
];

export const ALLOWED_EXTENSIONS = FILE_TYPES.flatMap((type) => type.extensions);
export const ALLOWED_MIME_TYPES = FILE_TYPES.map((type) => type.mime);

export function typeByExtension(extension: string): FileType | undefined {
  return FILE_TYPES.find((type) => type.extensions.includes(extension));
}

export function typeByMime(mime: string): FileType | undefined {
  return FILE_TYPES.find((type) => type.mime === mime);
}

/** Longest trailer: how many final bytes to keep while streaming. */
export const TRAILER_BYTES = Math.max(...FILE_TYPES.map((type) => type.trailer.length));
