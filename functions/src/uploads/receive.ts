/**
 * Receives the one image of an upload request into the blob store: the multipart file
 * (multipart.ts), refused on its names alone when they name no accepted type, else read
 * through the inspector (inspect.ts: type and pixel limit, from the first bytes); once the whole
 * request is parsed and within limits, re-encoded (reencode.ts) and only then stored. What is
 * stored, and what its size, hash and dimensions describe, is the re-encoded image.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../blobs/port.ts';
import type { Request } from '../pipeline/inputs.ts';
import { FileTypeRefusedError } from './errors.ts';
import { typeByExtension, typeByMime, type FileType } from './file-types.ts';
import { FileInspector } from './inspect.ts';
import { receiveSingleFile, type MultipartLimits } from './multipart.ts';
import { extensionOf, sanitiseFileName } from './names.ts';
import { reencodeImage } from './reencode.ts';

export interface ReceiveOptions {
  request: Request;
  blobs: BlobStore;
  /** The blob's key, given the canonical extension. */
  key: (extension: string) => string;
  maxBytes: number;
  limitCode: MultipartLimits['fileLimitCode'];
  maxPixels: number;
}

/** The image as stored. */
export interface StoredImage {
  type: FileType;
  size: number;
  sha256: string;
  width: number;
  height: number;
}

export interface ReceivedImage {
  key: string;
  /** The client's file name, sanitised. */
  originalName: string;
  image: StoredImage;
}

export function receiveImage(options: ReceiveOptions): Promise<ReceivedImage> {
  return receiveSingleFile(options.request, { fileBytes: options.maxBytes, fileLimitCode: options.limitCode }, async (file, complete) => {
    const originalName = sanitiseFileName(file.filename);
    const extension = extensionOf(originalName);
    const declaredType = file.declaredType.toLowerCase();
    const byExtension = extension === null ? undefined : typeByExtension(extension);
    const byDeclaredType = typeByMime(declaredType);
    if (extension === null || !byExtension || !byDeclaredType) {
      file.stream.resume();
      const witnesses = { extension, declaredType, sniffedType: null };
      throw new FileTypeRefusedError(byExtension ? 'declared_type_not_allowed' : 'extension_not_allowed', witnesses);
    }

    const inspector = new FileInspector({ byExtension, byDeclaredType, extension, declaredType, maxPixels: options.maxPixels });
    await pipeline(file.stream, inspector);
    // Nothing is decoded before the request is known to be whole and within its limits.
    await complete;
    const { type, bytes } = inspector.result;
    const image = await reencodeImage(bytes, type, { maxPixels: options.maxPixels, witnesses: inspector.witnesses });
    const key = options.key(type.extension);
    await options.blobs.put(key, Readable.from([image.bytes], { objectMode: false }), { contentType: type.mime });
    const sha256 = createHash('sha256').update(image.bytes).digest('hex');
    return { key, originalName, image: { type, size: image.bytes.length, sha256, width: image.width, height: image.height } };
  });
}
