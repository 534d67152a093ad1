/**
 * Image files for upload tests, without a graphics library: small real images (test/fixtures),
 * builders that give a PNG any declared size, byte length or extra chunks, rewrite the
 * dimensions a JPEG or GIF declares (decompression bombs), add JPEG segments (EXIF with GPS,
 * XMP, comments), write GIFs frame by frame and ZIP archives (the parts of polyglots); and
 * readers of each format's structure (chunks, segments, blocks), the specs' own oracle of what
 * a stored file holds.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/**
 * A 24×16 PNG, 48×32 JPEG or 16×12 GIF. The PNG is already in the form uploads store (8-bit
 * RGB, no metadata: re-encoding it gives the same bytes), so specs elsewhere can compare bytes.
 */
export function fixture(name: 'picture.png' | 'photo.jpg' | 'small.gif'): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

export function chunk(type: string, data: Buffer): Buffer {
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
  /** More chunks, in this order, after the others and before IEND. */
  chunks?: [type: string, data: Buffer | string][];
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
  for (const [type, data] of options.chunks ?? []) extra.push(chunk(type, typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
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

/** The fixture GIF, its one frame declaring another size (on the 16×12 canvas it keeps). */
export function gifFrameDeclaring(width: number, height: number): Buffer {
  const image = Buffer.from(fixture('small.gif'));
  const descriptor = 0x21; // after the header, the 4-colour table and a graphic control extension
  if (image[descriptor] !== 0x2c) throw new Error('the fixture GIF changed: find its image descriptor');
  image.writeUInt16LE(width, descriptor + 5);
  image.writeUInt16LE(height, descriptor + 7);
  return image;
}

/** The fixture GIF, declaring another logical screen size. */
export function gifDeclaring(width: number, height: number): Buffer {
  const image = Buffer.from(fixture('small.gif'));
  image.writeUInt16LE(width, 6);
  image.writeUInt16LE(height, 8);
  return image;
}

/** The PNG end chunk, as every PNG ends. */
export const PNG_END = chunk('IEND', Buffer.alloc(0));

/** The chunk types of a PNG, in order, and any bytes after its first IEND. */
export function pngChunks(image: Buffer): { types: string[]; after: Buffer } {
  if (!image.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'))) throw new Error('not a PNG');
  const types: string[] = [];
  let at = 8;
  while (at + 8 <= image.length) {
    const length = image.readUInt32BE(at);
    const type = image.toString('latin1', at + 4, at + 8);
    types.push(type);
    at += 12 + length;
    if (type === 'IEND') break;
  }
  return { types, after: image.subarray(at) };
}

// JPEG

/** One JPEG marker segment: FF, the marker, a length that counts itself, the data. */
export function jpegSegment(marker: number, data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(bytes.length + 2, 2);
  return Buffer.concat([head, bytes]);
}

export const JPEG_COMMENT = 0xfe;
export const JPEG_APP1 = 0xe1;

/** The fixture JPEG (or `image`) with these segments right after its start-of-image marker. */
export function jpegWith(segments: Buffer[], image: Buffer = fixture('photo.jpg')): Buffer {
  return Buffer.concat([image.subarray(0, 2), ...segments, image.subarray(2)]);
}

/**
 * An APP1 EXIF segment (little-endian TIFF) with an orientation and a GPS position: IFD0 holds
 * Orientation and a pointer to the GPS IFD, which holds latitude and longitude.
 */
export function exifSegment({ orientation = 1, latitude = [48, 51, 29], longitude = [2, 17, 40] } = {}): Buffer {
  const entry = (tag: number, type: number, count: number, value: Buffer) => {
    const bytes = Buffer.alloc(12);
    bytes.writeUInt16LE(tag, 0);
    bytes.writeUInt16LE(type, 2);
    bytes.writeUInt32LE(count, 4);
    value.copy(bytes, 8);
    return bytes;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const rationals = (values: number[]) => Buffer.concat(values.flatMap((v) => [u32(v), u32(1)]));
  const SHORT = 3,
    LONG = 4,
    ASCII = 2,
    RATIONAL = 5;
  // Layout: header (8), IFD0 (2 + 2×12 + 4 = 30), GPS IFD (2 + 4×12 + 4 = 54), then the rationals.
  const gpsAt = 8 + 30;
  const latitudeAt = gpsAt + 54;
  const longitudeAt = latitudeAt + 24;
  const orientationValue = Buffer.alloc(4);
  orientationValue.writeUInt16LE(orientation);
  const ifd0 = Buffer.concat([Buffer.from([2, 0]), entry(0x0112, SHORT, 1, orientationValue), entry(0x8825, LONG, 1, u32(gpsAt)), u32(0)]);
  const gps = Buffer.concat([
    Buffer.from([4, 0]),
    entry(0x0001, ASCII, 2, Buffer.from('N\0')),
    entry(0x0002, RATIONAL, 3, u32(latitudeAt)),
    entry(0x0003, ASCII, 2, Buffer.from('E\0')),
    entry(0x0004, RATIONAL, 3, u32(longitudeAt)),
    u32(0),
  ]);
  const tiff = Buffer.concat([Buffer.from('II*\0', 'latin1'), u32(8), ifd0, gps, rationals(latitude), rationals(longitude)]);
  return jpegSegment(JPEG_APP1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));
}

/** An APP1 XMP segment, with a GPS position of its own. */
export function xmpSegment(): Buffer {
  const packet =
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.48N" exif:GPSLongitude="2,17.67E"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>';
  return jpegSegment(JPEG_APP1, `http://ns.adobe.com/xap/1.0/\0${packet}`);
}

/** The markers of a JPEG's segments up to its scan, and any bytes after its first end-of-image marker. */
export function jpegSegments(image: Buffer): { markers: number[]; segments: Buffer[]; after: Buffer } {
  if (image[0] !== 0xff || image[1] !== 0xd8) throw new Error('not a JPEG');
  const markers: number[] = [];
  const segments: Buffer[] = [];
  let at = 2;
  while (at + 4 <= image.length && image[at] === 0xff) {
    const marker = image[at + 1]!;
    const length = image.readUInt16BE(at + 2);
    markers.push(marker);
    segments.push(image.subarray(at + 4, at + 2 + length));
    at += 2 + length;
    if (marker === 0xda) break; // start of scan: entropy-coded data follows
  }
  // In the scan, a 0xFF byte is followed by 0x00 (stuffing) or a restart marker; 0xFF 0xD9 ends the image.
  for (; at + 1 < image.length; at++) {
    if (image[at] === 0xff && image[at + 1] === 0xd9) return { markers, segments, after: image.subarray(at + 2) };
  }
  throw new Error('no end-of-image marker');
}

// GIF

export interface GifFrame {
  left?: number;
  top?: number;
  width: number;
  height: number;
  /** Every pixel's palette index (0–3), or a function of the position. */
  colour: number | ((x: number, y: number) => number);
  /** Hundredths of a second. */
  delay?: number;
}

export interface GifOptions {
  /** The logical screen. */
  width: number;
  height: number;
  frames: GifFrame[];
  /** Comment extensions, placed before the first frame. */
  comments?: (string | Buffer)[];
  /** Comment extensions placed after the last frame, before the trailer. */
  closingComments?: (string | Buffer)[];
  /** A NETSCAPE2.0 loop count (0: for ever); none if absent. */
  loop?: number;
}

/** Four colours: black, red, green, blue. */
const GIF_PALETTE = Buffer.from([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);

function subBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += 255) {
    const piece = data.subarray(at, at + 255);
    parts.push(Buffer.from([piece.length]), piece);
  }
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/**
 * LZW data a decoder reads as the given 2-bit indices: 3-bit codes, a clear code after every
 * two pixels so the code width never grows. Large, but correct by construction.
 */
function lzw(indices: number[]): Buffer {
  const CLEAR = 4,
    END = 5;
  const codes: number[] = [];
  for (let i = 0; i < indices.length; i += 2) codes.push(CLEAR, ...indices.slice(i, i + 2));
  codes.push(END);
  const bytes: number[] = [];
  let buffer = 0,
    bits = 0;
  for (const code of codes) {
    buffer |= code << bits;
    bits += 3;
    while (bits >= 8) {
      bytes.push(buffer & 0xff);
      buffer >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) bytes.push(buffer & 0xff);
  return Buffer.from(bytes);
}

export function gif({ width, height, frames, comments = [], closingComments = [], loop }: GifOptions): Buffer {
  const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
  const parts: Buffer[] = [Buffer.from('GIF89a', 'latin1'), u16(width), u16(height), Buffer.from([0xf1, 0, 0]), GIF_PALETTE];
  if (loop !== undefined) parts.push(Buffer.from([0x21, 0xff, 11]), Buffer.from('NETSCAPE2.0', 'latin1'), Buffer.from([3, 1]), u16(loop), Buffer.from([0]));
  const comment = (text: string | Buffer) => Buffer.concat([Buffer.from([0x21, 0xfe]), subBlocks(typeof text === 'string' ? Buffer.from(text, 'latin1') : text)]);
  parts.push(...comments.map(comment));
  for (const frame of frames) {
    const colour = typeof frame.colour === 'number' ? () => frame.colour as number : frame.colour;
    const indices: number[] = [];
    for (let y = 0; y < frame.height; y++) for (let x = 0; x < frame.width; x++) indices.push(colour(x, y));
    parts.push(Buffer.from([0x21, 0xf9, 4, 0]), u16(frame.delay ?? 10), Buffer.from([0, 0]));
    parts.push(Buffer.from([0x2c]), u16(frame.left ?? 0), u16(frame.top ?? 0), u16(frame.width), u16(frame.height), Buffer.from([0]));
    parts.push(Buffer.from([2]), subBlocks(lzw(indices)));
  }
  parts.push(...closingComments.map(comment), Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

export interface GifStructure {
  width: number;
  height: number;
  frames: { left: number; top: number; width: number; height: number }[];
  /** Extension labels in order (0xF9 graphic control, 0xFE comment, 0xFF application, 0x01 plain text), with an application's identifier. */
  extensions: string[];
  /** Each graphic control extension's delay, in hundredths of a second. */
  delays: number[];
  /** Bytes after the trailer. */
  after: Buffer;
}

/** Walks a GIF's blocks. */
export function gifBlocks(image: Buffer): GifStructure {
  if (!/^GIF8[79]a$/.test(image.toString('latin1', 0, 6))) throw new Error('not a GIF');
  const tableSize = (packed: number) => (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  const skipSubBlocks = (at: number) => {
    while (image[at] !== 0) at += image[at]! + 1;
    return at + 1;
  };
  const structure: GifStructure = { width: image.readUInt16LE(6), height: image.readUInt16LE(8), frames: [], extensions: [], delays: [], after: Buffer.alloc(0) };
  let at = 13 + tableSize(image[10]!);
  while (at < image.length) {
    const block = image[at]!;
    if (block === 0x3b) {
      structure.after = image.subarray(at + 1);
      return structure;
    }
    if (block === 0x21) {
      const label = image[at + 1]!;
      structure.extensions.push(label === 0xff ? `ff:${image.toString('latin1', at + 3, at + 14)}` : label.toString(16).padStart(2, '0'));
      if (label === 0xf9) structure.delays.push(image.readUInt16LE(at + 4));
      at = skipSubBlocks(at + 2);
    } else if (block === 0x2c) {
      structure.frames.push({ left: image.readUInt16LE(at + 1), top: image.readUInt16LE(at + 3), width: image.readUInt16LE(at + 5), height: image.readUInt16LE(at + 7) });
      at = skipSubBlocks(at + 10 + tableSize(image[at + 9]!) + 1);
    } else {
      throw new Error(`unknown GIF block 0x${block.toString(16)} at ${at}`);
    }
  }
  throw new Error('no GIF trailer');
}

// ZIP

/**
 * A ZIP archive of one stored (uncompressed) file, with an archive comment: the tail of
 * GIFAR-style polyglots. `at` is where the archive will start in the file (after the image), so
 * its offsets are right and unzip reads it without complaint.
 */
export function zip(name: string, content: string, { comment = '', at = 0 }: { comment?: Buffer | string; at?: number } = {}): Buffer {
  const data = Buffer.from(content, 'utf8');
  const fileName = Buffer.from(name, 'utf8');
  const note = typeof comment === 'string' ? Buffer.from(comment, 'latin1') : comment;
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  central.writeUInt32LE(at, 42); // where the local header is
  const centralAt = at + local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(centralAt, 16);
  end.writeUInt16LE(note.length, 20);
  return Buffer.concat([local, fileName, data, central, fileName, end, note]);
}

/** ZIP's local-file, central-directory and end-of-archive signatures: any of them means an archive is inside. */
export const ZIP_SIGNATURES = ['504b0304', '504b0102', '504b0506'].map((hex) => Buffer.from(hex, 'hex'));

/**
 * A PNG of random pixels: nothing compresses it, so re-encoding it (uploads/reencode.ts) keeps
 * it about width × height × 3 bytes. For specs that need an upload to store many bytes (a full
 * disk, a server killed while writing), which the fixture images, re-encoded, never are.
 */
export function noisePng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const rows = Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), randomBytes(width * 3)])); // filter: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
