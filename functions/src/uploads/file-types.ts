/**
 * The only file types uploads accept. Raster images only: SVG is a script-capable document,
 * and anything a browser might render as a page is refused. Each is stored re-encoded in its
 * own type (reencode.ts), under its canonical extension.
 */
export interface FileType {
  /** Canonical extension: the stored name's. */
  extension: 'png' | 'jpg' | 'gif';
  mime: 'image/png' | 'image/jpeg' | 'image/gif';
  /** Extensions a client's file name may carry for this type. */
  extensions: readonly string[];
}

export const FILE_TYPES: readonly FileType[] = [
  { extension: 'png', mime: 'image/png', extensions: ['png'] },
  { extension: 'jpg', mime: 'image/jpeg', extensions: ['jpg', 'jpeg'] },
  { extension: 'gif', mime: 'image/gif', extensions: ['gif'] },
];

export const ALLOWED_EXTENSIONS = FILE_TYPES.flatMap((type) => type.extensions);
export const ALLOWED_MIME_TYPES = FILE_TYPES.map((type) => type.mime);

export function typeByExtension(extension: string): FileType | undefined {
  return FILE_TYPES.find((type) => type.extensions.includes(extension));
}

export function typeByMime(mime: string): FileType | undefined {
  return FILE_TYPES.find((type) => type.mime === mime);
}
