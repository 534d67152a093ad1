/**
 * Receives the one image of an upload request into the blob store: the multipart file
 * (multipart.ts), refused on its names alone when they name no accepted type, else streamed
 * through the inspector (inspect.ts) into a new blob, committed only if every check passes.
 */
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../blobs/port.ts';
import type { Request } from '../pipeline/context.ts';
import { FileTypeRefusedError } from './errors.ts';
import { typeByExtension, typeByMime } from './file-types.ts';
import { FileInspector, type Inspection } from './inspect.ts';
import { receiveSingleFile, type MultipartLimits } from './multipart.ts';
import { extensionOf, sanitiseFileName } from './names.ts';

export interface ReceiveOptions {
  request: Request;
  blobs: BlobStore;
  /** The blob's key, given the canonical extension. */
  key: (extension: string) => string;
  maxBytes: number;
  limitCode: MultipartLimits['fileLimitCode'];
  maxPixels: number;
}

export interface ReceivedImage {
  key: string;
  /** The client's file name, sanitised. */
  originalName: string;
  inspection: Inspection;
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

    const inspector = new FileInspector({ byExtension, byDeclaredType, extension, declaredType, maxPixels: options.maxPixels, commitWhen: complete });
    const key = options.key(byExtension.extension);
    pipeline(file.stream, inspector).catch(() => {}); // a failure reaches put() through the inspector
    await options.blobs.put(key, inspector, { contentType: byExtension.mime });
    return { key, originalName, inspection: inspector.result };
  });
}
