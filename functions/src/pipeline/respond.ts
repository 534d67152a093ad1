import type { ServerResponse } from 'node:http';
import type { Context } from './context.ts';

/**
 * Writes a JSON body (or nothing, for 204) with an exact Content-Length. All headers go out in
 * one `writeHead` with a flat list, which node writes without the per-header bookkeeping of
 * `setHeader` (measured: a fifth of a bare response's cost for our ~20 headers).
 */
export function sendJson(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const flat: string[] = [];
  for (const name in headers) flat.push(name, headers[name]!);
  if (body === undefined) {
    res.writeHead(status, flat);
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  flat.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(payload)));
  res.writeHead(status, flat);
  res.end(payload);
}

/** Answers with the headers the pipeline gathered for this response, plus `headers`. */
export function reply(ctx: Context, status: number, body?: unknown, headers?: Record<string, string>): void {
  sendJson(ctx.res, status, body, headers ? { ...ctx.responseHeaders, ...headers } : ctx.responseHeaders);
}
