/**
 * Checks a file while it streams to the blob store, so a refused file is never stored:
 *
 * - holds back the first bytes until the sniffed type (file-type) and the image dimensions
 *   (image-size, read from the header without decoding a pixel) are known, and refuses a type
 *   other than the one the extension and the declared Content-Type name, or too many pixels;
 * - then passes bytes through, hashing (sha256) and counting them, and looking for markup a
 *   browser could run (HTML, SVG, script, PHP: the payload of polyglots);
 * - at the end refuses an empty file and any bytes after the image's own end marker, and waits
 *   for `commitWhen` (the rest of the request parsed and within limits) before finishing.
 *
 * An error from any check fails the stream, which makes the blob store keep nothing.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { imageSize } from 'image-size';
import { EmptyFileError, FileTypeRefusedError, UploadTooLargeError, type RefusedTypeCode } from './errors.ts';
import { TRAILER_BYTES, typeByMime, type FileType } from './file-types.ts';

/** What file-type reads to recognise a type (its `reasonableDetectionSizeInBytes`). */
const SNIFF_BYTES = 4100;
/** A JPEG's size marker may follow large metadata segments; give up past this. */
const MAX_HEADER_BYTES = 256 * 1024;

/**
 * Markup that makes bytes dangerous if anything ever renders them as a document: the payload
 * of polyglots. The first bytes (where browsers sniff, and where image headers and comments
 * sit) are searched for every marker. The rest is compressed image data, as good as random,
 * in which a 4-byte marker such as `<svg` turns up by chance about once in a hundred 5 MiB
 * files; only markers of 7 bytes or more (about once in 10^8 such files) are searched there.
 */
const HEAD_MARKERS = ['<script', '<html', '<body', '<svg', '<iframe', '<object', '<embed', '<!doctype', '<?php', '<?xml', 'javascript:'];
const BODY_MARKERS = HEAD_MARKERS.filter((marker) => marker.length >= 7);
/** How much of the start gets the full search. */
const HEAD_SCAN_BYTES = 4096;

class MarkupSearch {
  readonly markers: Buffer[];
  readonly longest: number;

  constructor(markers: string[]) {
    this.markers = markers.map((m) => Buffer.from(m, 'latin1'));
    this.longest = Math.max(...this.markers.map((m) => m.length));
  }

  /** True if `bytes` contains a marker, ASCII case-insensitively. */
  foundIn(bytes: Buffer): boolean {
    for (const marker of this.markers) {
      const first = marker[0]!;
      for (let at = bytes.indexOf(first); at !== -1 && at + marker.length <= bytes.length; at = bytes.indexOf(first, at + 1)) {
        let i = 1;
        while (i < marker.length && lowerAscii(bytes[at + i]!) === marker[i]) i++;
        if (i === marker.length) return true;
      }
    }
    return false;
  }
}

const HEAD_SEARCH = new MarkupSearch(HEAD_MARKERS);
const BODY_SEARCH = new MarkupSearch(BODY_MARKERS);
const TAIL_BYTES = Math.max(BODY_SEARCH.longest - 1, TRAILER_BYTES);

function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

export interface InspectorOptions {
  /** The allowed type the file name's extension names (checked before any byte is read). */
  byExtension: FileType;
  /** The allowed type the part's Content-Type names (checked before any byte is read). */
  byDeclaredType: FileType;
  extension: string;
  declaredType: string;
  maxPixels: number;
  /** Resolves when the request is complete and within limits; the file is committed only then. */
  commitWhen: Promise<void>;
}

export interface Inspection {
  type: FileType;
  size: number;
  sha256: string;
  width: number;
  height: number;
}

export class FileInspector extends Transform {
  readonly #options: InspectorOptions;
  readonly #hash: Hash = createHash('sha256');
  #head: Buffer[] = [];
  #headSize = 0;
  #sniffed: FileType | null | undefined;
  #dimensions: { width: number; height: number } | undefined;
  #size = 0;
  /** The last bytes seen, for the end marker and markers split across chunks. */
  #tail: Buffer = Buffer.alloc(0);
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

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#dimensions) {
      try {
        this.#pass(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      callback();
      return;
    }
    this.#head.push(chunk);
    this.#headSize += chunk.length;
    if (this.#headSize < SNIFF_BYTES) {
      callback();
      return;
    }
    this.#inspectHead(false).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.#finish().then(() => callback(), callback);
  }

  async #finish(): Promise<void> {
    if (!this.#dimensions) {
      if (this.#headSize === 0) throw new EmptyFileError();
      await this.#inspectHead(true);
    }
    const type = this.#sniffed!;
    if (this.#tail.length < type.trailer.length || !this.#tail.subarray(-type.trailer.length).equals(type.trailer)) {
      this.#refuse('trailing_data');
    }
    await this.#options.commitWhen;
    this.#result = { type, size: this.#size, sha256: this.#hash.digest('hex'), ...this.#dimensions! };
  }

  async #inspectHead(atEnd: boolean): Promise<void> {
    const head = this.#head.length === 1 ? this.#head[0]! : Buffer.concat(this.#head, this.#headSize);
    this.#head = [head];
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
      if (atEnd || this.#headSize >= MAX_HEADER_BYTES) this.#refuse('image_unreadable');
      return; // the size marker is further on: read more
    }
    const pixels = dimensions.width * dimensions.height;
    if (pixels > this.#options.maxPixels) {
      throw new UploadTooLargeError(
        'image_too_large',
        `The image is ${dimensions.width}×${dimensions.height}: more than ${this.#options.maxPixels} pixels.`,
        { width: dimensions.width, height: dimensions.height, maxPixels: this.#options.maxPixels },
      );
    }
    this.#dimensions = dimensions;
    this.#head = [];
    this.#pass(head);
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

  #pass(chunk: Buffer): void {
    const start = this.#size;
    if (start < HEAD_SCAN_BYTES && HEAD_SEARCH.foundIn(Buffer.concat([this.#tail, chunk.subarray(0, HEAD_SCAN_BYTES - start)]))) {
      this.#refuse('active_content');
    }
    // A marker split between chunks lies within the seam: the tail plus the chunk's first bytes.
    const seam = Buffer.concat([this.#tail, chunk.subarray(0, BODY_SEARCH.longest - 1)]);
    if (BODY_SEARCH.foundIn(seam) || BODY_SEARCH.foundIn(chunk)) this.#refuse('active_content');
    this.#tail = Buffer.from((chunk.length >= TAIL_BYTES ? chunk : Buffer.concat([this.#tail, chunk])).subarray(-TAIL_BYTES));
    this.#hash.update(chunk);
    this.#size += chunk.length;
    this.push(chunk);
  }

  #refuse(code: RefusedTypeCode, sniffedMime?: string | null): never {
    throw new FileTypeRefusedError(code, {
      extension: this.#options.extension,
      declaredType: this.#options.declaredType,
      sniffedType: sniffedMime !== undefined ? sniffedMime : (this.#sniffed?.mime ?? null),
    });
  }
}
