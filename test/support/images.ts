/**
 * Image files for upload tests: small real images made with ImageMagick (test/fixtures), and
 * builders that give a PNG any declared size or byte length, or rewrite the dimensions a JPEG
 * or GIF declares (decompression bombs), without a graphics library.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** A 24×16 PNG, 48×32 JPEG or 16×12 GIF. */
export function fixture(name: 'picture.png' | 'photo.jpg' | 'small.gif'): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

const IEND_LENGTH = 12;
const CHUNK_OVERHEAD = 12;

export interface PngOptions {
  /** Declared in IHDR (the pixels are not there: nothing here decodes them). */
  width?: number;
  height?: number;
  /** Exact length in bytes, reached with a private ancillary chunk of random bytes. */
  bytes?: number;
  /** Extra bytes inside a text chunk (tEXt), e.g. markup. */
  text?: string;
  /** Bytes of a private chunk placed after the image data (as random-looking as compressed pixels, or not). */
  privateData?: Buffer;
}

export function png(options: PngOptions = {}): Buffer {
  let image = fixture('picture.png');
  if (options.width !== undefined || options.height !== undefined) {
    const ihdr = Buffer.from(image.subarray(16, 29)); // IHDR data: width, height, depth…
    if (options.width !== undefined) ihdr.writeUInt32BE(options.width, 0);
    if (options.height !== undefined) ihdr.writeUInt32BE(options.height, 4);
    image = Buffer.concat([image.subarray(0, 8), chunk('IHDR', ihdr), image.subarray(33)]);
  }
  const extra: Buffer[] = [];
  if (options.text !== undefined) extra.push(chunk('tEXt', Buffer.from(`Comment\0${options.text}`, 'latin1')));
  if (options.privateData !== undefined) extra.push(chunk('prIv', options.privateData));
  if (options.bytes !== undefined) {
    const used = image.length + extra.reduce((sum, b) => sum + b.length, 0);
    const padding = options.bytes - used - CHUNK_OVERHEAD;
    if (padding < 0) throw new Error(`a PNG cannot be as small as ${options.bytes} bytes`);
    // `teSt`: ancillary, private, safe to copy; random bytes, as in a real image's data.
    extra.push(chunk('teSt', randomBytes(padding)));
  }
  const body = image.subarray(0, image.length - IEND_LENGTH);
  return Buffer.concat([body, ...extra, image.subarray(image.length - IEND_LENGTH)]);
}

/** The fixture JPEG, declaring other dimensions in its SOF0 segment. */
export function jpegDeclaring(width: number, height: number): Buffer {
  const image = Buffer.from(fixture('photo.jpg'));
  const sof = image.indexOf(Buffer.from([0xff, 0xc0]));
  image.writeUInt16BE(height, sof + 5);
  image.writeUInt16BE(width, sof + 7);
  return image;
}

/** The fixture GIF, declaring another logical screen size. */
export function gifDeclaring(width: number, height: number): Buffer {
  const image = Buffer.from(fixture('small.gif'));
  image.writeUInt16LE(width, 6);
  image.writeUInt16LE(height, 8);
  return image;
}
