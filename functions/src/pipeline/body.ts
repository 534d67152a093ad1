/**
 * Reading a JSON body safely: the declared type must be JSON (415), the size is capped before
 * and while reading (413), and the bytes must be valid UTF-8 and valid JSON (400).
 * On Cloud Functions the platform has already read the body into `rawBody`.
 */
import type { Request } from './inputs.ts';
import { ApiError } from '../errors/api-error.ts';

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when the request says it carries a body. */
export function hasBody(req: Request): boolean {
  if (req.rawBody) return req.rawBody.length > 0;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function tooLarge(limit: number): ApiError {
  // The rest of the upload is not worth reading: close once the answer is sent.
  return new ApiError('payload_too_large', { params: { reason: `more than ${limit} bytes` }, headers: { Connection: 'close' } });
}

function readStream(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ApiError('body_unreadable', { cause: error }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The body's bytes, read once (up to `limit`) and kept as `rawBody`, as Cloud Functions keeps them: a signed request's body is hashed before it is parsed. */
export async function readRawBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);
  req.rawBody ??= await readStream(req, limit);
  if (req.rawBody.length > limit) throw tooLarge(limit);
  return req.rawBody;
}

export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) throw new ApiError('unsupported_media_type', { params: { expected: 'application/json' } });
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);
  const raw = req.rawBody ?? (await readStream(req, limit));
  if (raw.length > limit) throw tooLarge(limit);
  if (raw.length === 0) throw new ApiError('body_required');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ApiError('invalid_json', { params: { what: 'UTF-8' } });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('invalid_json', { params: { what: 'JSON' } });
  }
}
