/**
 * Makes a stored image inert: it is decoded and encoded anew with sharp (libvips), in the type
 * it was sniffed as (PNG to PNG, JPEG to JPEG, GIF to GIF with every frame, its delays and loop
 * count), so nothing but pixels survives: no bytes after the end marker (appended pages, ZIP
 * archives), no comments, text chunks or application blocks (where polyglots hide script), no
 * metadata (EXIF with its GPS position, XMP, ICC profiles). The EXIF orientation is applied to
 * the pixels first, so photos do not turn sideways.
 *
 * Decoding is where memory goes: not the file's size but its pixels, and how they must be held.
 * Measured at the default limit of 25 million pixels (sharp 0.35, libvips 8.18, one thread), a
 * decode and encode takes about 20 MiB for a plain PNG or baseline JPEG (libvips streams them
 * line by line), 95 MiB for a JPEG it must turn upright, 165 MiB for a progressive JPEG,
 * 210 MiB for an interlaced 16-bit PNG, and 360 MiB for a GIF whose one frame fills its canvas
 * (about 14 bytes a canvas pixel; an animation's frames are encoded one after the other). So:
 * - libvips refuses an image of more than `maxPixels` before decoding it, from its header: for
 *   a GIF that is the canvas grown to hold every frame, times the frames (a 65535×65535 frame
 *   on a 16×12 canvas is refused, not decoded); and a GIF's canvas may have a quarter of that
 *   (about 90 MiB to re-encode at the default);
 * - decodes run one at a time, in a queue (work-queue.ts) shared by the process, with a short
 *   waiting line; beyond it 503 `upload_busy` with Retry-After, never an exhausted instance.
 *   A second decode at once could double the memory, and would not finish sooner: an uploads
 *   instance has a fraction of a vCPU.
 *
 * sharp (a native addon, with libvips) is loaded on the first image, so no function pays for
 * it at cold start, nor an upload refused before decoding.
 */
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { ApiError } from '../errors/api-error.ts';
import { FileTypeRefusedError, UploadTooLargeError, type TypeWitnesses } from './errors.ts';
import type { FileType } from './file-types.ts';
import { createWorkQueue, WorkQueueBusyError, type WorkQueue, type WorkQueueOptions } from '../work-queue.ts';

/**
 * One decode at a time (see above). A waiting upload holds its bytes (up to the file limit) and
 * waits a few seconds at worst for each one ahead of it; four such are a saturated instance, and
 * the client's retry may reach another one, well within the function's 30 s.
 */
export const DECODE_QUEUE: WorkQueueOptions = { concurrency: 1, maxWaiting: 4 };

/** A GIF's canvas may have this share of the pixel limit: re-encoding one takes ~14 bytes a canvas pixel. */
export const GIF_CANVAS_SHARE = 1 / 4;

let queue: WorkQueue = createWorkQueue(DECODE_QUEUE);

/** The process's decode queue. */
export function decodeQueue(): WorkQueue {
  return queue;
}

/** Puts another decode queue in place (a host sized otherwise, a spec); gives back a function that restores the previous one. */
export function setDecodeQueue(next: WorkQueue): () => void {
  const previous = queue;
  queue = next;
  return () => {
    queue = previous;
  };
}

type SharpModule = (input: Buffer, options: SharpOptions) => Sharp;
let loading: Promise<SharpModule> | undefined;

function loadSharp(): Promise<SharpModule> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    // No operation cache: libvips would keep recent images (up to 50 MiB) for reuse, and an
    // upload is decoded once. One libvips thread per image: the queue decides how many images
    // are decoded at once, and a thread per core for each would multiply the buffers in memory
    // (an uploads instance has a fraction of one vCPU anyway).
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  });
  return loading;
}

export interface ReencodeOptions {
  /** Pixels the decoded image may have (for an animation, all its frames together). */
  maxPixels: number;
  /** What the client said the file is, for the details of a refusal. */
  witnesses: TypeWitnesses;
}

export interface ReencodedImage {
  bytes: Buffer;
  width: number;
  /** Of one frame, for an animation. */
  height: number;
}

/** libvips' words when an image has more pixels than `limitInputPixels`. */
const PIXEL_LIMIT_MESSAGE = /exceeds pixel limit/i;

export async function reencodeImage(input: Buffer, type: FileType, options: ReencodeOptions): Promise<ReencodedImage> {
  const sharp = await loadSharp();
  const open = () =>
    sharp(input, {
      limitInputPixels: options.maxPixels,
      // sharp's advice for untrusted input: any warning from the decoder refuses the file.
      failOn: 'warning',
      animated: type.extension === 'gif',
      autoOrient: true,
    });
  try {
    if (type.extension === 'gif') checkGifCanvas(await open().metadata(), options.maxPixels);
    return await queue.run(async () => {
      const image = open();
      const encoder =
        type.extension === 'png'
          ? image.png()
          : type.extension === 'jpg'
            ? // Huffman tables fitted to the image would hold all of it in memory (140 MiB more at 25 MP) for 20 % fewer bytes.
              image.jpeg({ quality: 90, optimiseCoding: false })
            : // The least effort, no dithering (the frames bring their palettes): 25 million pixels of frames still take seconds.
              image.gif({ effort: 1, dither: 0 });
      // sharp keeps no metadata unless asked to (keepMetadata, withExif…): none is asked for.
      const { data, info } = await encoder.toBuffer({ resolveWithObject: true });
      return { bytes: data, width: info.width, height: info.pageHeight ?? info.height };
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof WorkQueueBusyError) throw new ApiError('upload_busy');
    if (error instanceof Error && PIXEL_LIMIT_MESSAGE.test(error.message)) {
      throw new UploadTooLargeError('image_too_large', {
        params: { reason: `more than ${options.maxPixels} pixels (all its frames together)` },
        details: { maxPixels: options.maxPixels },
      });
    }
    // Anything else libvips could not decode: the bytes are not the image they claim to be.
    throw new FileTypeRefusedError('image_unreadable', options.witnesses, error);
  }
}

/** From the header alone (libvips reads every frame's position and size, and no pixel). */
function checkGifCanvas(metadata: Metadata, maxPixels: number): void {
  const width = metadata.width;
  const height = metadata.pageHeight ?? metadata.height;
  const limit = Math.floor(maxPixels * GIF_CANVAS_SHARE);
  if (width * height > limit) {
    throw new UploadTooLargeError('image_too_large', {
      params: { reason: `the GIF's canvas is ${width}×${height}, and a GIF may have at most ${limit} pixels a frame` },
      details: { width, height, maxPixels: limit },
    });
  }
}
