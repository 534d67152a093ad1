/**
 * Checks a file while it streams in, and keeps its bytes for re-encoding (reencode.ts):
 *
 * - the first bytes decide, before the rest is read: the type sniffed from them (file-type)
 *   must be the one the extension and the declared Content-Type name, and the dimensions read
 *   from the header (image-size, without decoding a pixel) must be within the pixel limit; a
 *   file refused here is not read further, and nothing of it is decoded;
 * - an empty file is refused at the end.
 *
 * What the file may hide besides pixels (markup, appended archives, metadata) is not looked for
 * here: re-encoding drops all of it. An error fails the stream, and nothing is kept.
 */
import { Writable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import { ApiError } from '../errors/api-error.ts';
import { FileTypeRefusedError, UploadTooLargeError, type RefusedTypeCode, type TypeWitnesses } from './errors.ts';
import { typeByMime, type FileType } from './file-types.ts';

/** What file-type reads to recognise a type (its `reasonableDetectionSizeInBytes`). */
const SNIFF_BYTES = 4100;
/** A JPEG's size marker may follow large metadata segments; give up past this. */
const MAX_HEADER_BYTES = 256 * 1024;

/**
 * The chunks in a buffer of its own, not a slice of node's shared pool: image-size reads a
 * short header past the buffer's end into whatever memory follows, and would find dimensions
 * in someone else's bytes.
 */
function exactCopy(chunks: Buffer[], size: number): Buffer {
  const copy = Buffer.alloc(size);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(copy, at);
  return copy;
}

export interface InspectorOptions {
  /** The allowed type the file name's extension names (checked before any byte is read). */
  byExtension: FileType;
  /** The allowed type the part's Content-Type names (checked before any byte is read). */
  byDeclaredType: FileType;
  extension: string;
  declaredType: string;
  maxPixels: number;
}

export interface Inspection {
  type: FileType;
  /** The file as it came. */
  bytes: Buffer;
  /** As the header declares them. */
  width: number;
  height: number;
}

export class FileInspector extends Writable {
  readonly #options: InspectorOptions;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #sniffed: FileType | null | undefined;
  #dimensions: { width: number; height: number } | undefined;
  #result: Inspection | undefined;

  constructor(options: InspectorOptions) {
    super();
    this.#options = options;
  }

  /** What was found, once the stream has finished. */
  get result(): Inspection {
    if (!this.#result) throw new Error('the inspection is not finished');
    return this.#result;
  }

  /** The three type witnesses, as the refusals report them. */
  get witnesses(): TypeWitnesses {
    return { extension: this.#options.extension, declaredType: this.#options.declaredType, sniffedType: this.#sniffed?.mime ?? null };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#dimensions || this.#size < SNIFF_BYTES) {
      callback();
      return;
    }
    this.#inspectHead(false).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finish().then(() => callback(), callback);
  }

  async #finish(): Promise<void> {
    if (this.#size === 0) throw new ApiError('empty_file');
    if (!this.#dimensions) await this.#inspectHead(true);
    this.#result = { type: this.#sniffed!, bytes: Buffer.concat(this.#chunks, this.#size), ...this.#dimensions! };
  }

  async #inspectHead(atEnd: boolean): Promise<void> {
    const head = exactCopy(this.#chunks, this.#size);
    this.#chunks.splice(0, this.#chunks.length, head);
    if (this.#sniffed === undefined) {
      const sniffed = await fileTypeFromBuffer(head);
      this.#sniffed = (sniffed && typeByMime(sniffed.mime)) ?? null;
      // The bytes are the truth; each of the other two witnesses must agree with them.
      if (this.#sniffed === null) this.#refuse('content_not_allowed', sniffed?.mime ?? null);
      if (this.#sniffed !== this.#options.byExtension) this.#refuse('extension_mismatch');
      if (this.#sniffed !== this.#options.byDeclaredType) this.#refuse('declared_type_mismatch');
    }
    const dimensions = this.#readDimensions(head);
    if (!dimensions) {
      if (atEnd || this.#size >= MAX_HEADER_BYTES) this.#refuse('image_unreadable');
      return; // the size marker is further on: read more
    }
    const pixels = dimensions.width * dimensions.height;
    if (pixels > this.#options.maxPixels) {
      throw new UploadTooLargeError('image_too_large', {
        params: { reason: `it is ${dimensions.width}×${dimensions.height}, more than ${this.#options.maxPixels} pixels` },
        details: { width: dimensions.width, height: dimensions.height, maxPixels: this.#options.maxPixels },
      });
    }
    this.#dimensions = dimensions;
  }

  #readDimensions(head: Buffer): { width: number; height: number } | undefined {
    try {
      const size = imageSize(head);
      const sameType = size.type === this.#sniffed!.extension;
      if (sameType && size.width > 0 && size.height > 0) return { width: size.width, height: size.height };
    } catch {
      // not enough of the header yet, or malformed: decided by the caller
    }
    return undefined;
  }

  #refuse(code: RefusedTypeCode, sniffedMime?: string | null): never {
    throw new FileTypeRefusedError(code, { ...this.witnesses, ...(sniffedMime !== undefined ? { sniffedType: sniffedMime } : {}) });
  }
}
