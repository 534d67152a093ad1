import type { ServerResponse } from 'node:http';

/** Writes a JSON body (or nothing, for 204) with an exact Content-Length. */
export function sendJson(res: ServerResponse, status: number, body?: unknown, headers?: Record<string, string>): void {
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.writeHead(status);
  res.end(payload);
}
