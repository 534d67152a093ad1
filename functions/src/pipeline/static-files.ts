/**
 * The web app's files, for the local server (Firebase Hosting serves them when deployed). The
 * folder is read once: only files present at start-up exist, so no request path ever reaches
 * the file system. `/` is index.html; the app routes in the URL's fragment.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { Middleware } from './context.ts';
import { ApiError, MethodNotAllowedError } from '../errors/api-error.ts';
import { flatten } from './respond.ts';
import { recordHelmetHeaders, type PageOptions } from './security-headers.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

interface StaticFile {
  bytes: Buffer;
  type: string;
}

function readFolder(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let names: string[];
  try {
    if (!statSync(root).isDirectory()) return files;
    names = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    return files; // not built: every path is a 404
  }
  for (const name of names) {
    const path = join(root, name);
    const type = TYPES[extname(name)];
    if (!type || !statSync(path).isFile()) continue;
    files.set(`/${relative(root, path).split(sep).join('/')}`, { bytes: readFileSync(path), type });
  }
  return files;
}

export interface StaticFilesOptions extends PageOptions {
  /** The built web app (web/dist). */
  root: string;
}

export function staticFiles(options: StaticFilesOptions): Middleware {
  const files = readFolder(options.root);
  // A file gets the headers of a page (CSP default-src 'self', …); errors stay JSON's.
  const pageHeaders = Object.fromEntries(recordHelmetHeaders('page', options));
  return async (ctx) => {
    const method = ctx.req.method ?? 'GET';
    const file = files.get(ctx.path === '/' ? '/index.html' : ctx.path);
    if (!file) throw new ApiError('not_found', { params: { what: files.size > 0 ? 'file' : 'file (the web app is built by npm start, or npm run build:web)' } });
    if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError(['GET', 'HEAD']);
    const headers = { ...ctx.responseHeaders, ...pageHeaders, 'Content-Type': file.type, 'Content-Length': String(file.bytes.length) };
    ctx.res.writeHead(200, flatten(headers));
    ctx.res.end(method === 'HEAD' ? undefined : file.bytes);
  };
}
