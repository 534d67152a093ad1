/** multipart/form-data bodies, built byte for byte, for upload tests. */
import { randomBytes } from 'node:crypto';

export interface Part {
  name: string;
  /** Present for file parts. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

export interface MultipartBody {
  body: Buffer;
  contentType: string;
}

export function multipart(parts: Part[]): MultipartBody {
  const boundary = `----bastion-test-${randomBytes(8).toString('hex')}`;
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const headers = [`Content-Disposition: ${disposition}`, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : [])];
    pieces.push(Buffer.from(`--${boundary}\r\n${headers.join('\r\n')}\r\n\r\n`, 'utf8'));
    pieces.push(typeof part.data === 'string' ? Buffer.from(part.data, 'utf8') : part.data);
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** One file in the field `file`, the way a browser's form sends it. */
export function fileForm(filename: string, contentType: string, data: Buffer | string): MultipartBody {
  return multipart([{ name: 'file', filename, contentType, data }]);
}
