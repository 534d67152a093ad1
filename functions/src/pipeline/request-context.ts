/**
 * Request id and logging. Accepts a well-formed incoming `X-Request-Id`, or the trace id of a
 * Cloud Trace / W3C `traceparent` header, else makes one; echoes it in `X-Request-Id`, puts it on
 * every log line of the request, and writes one access-log line when the response is done
 * (with at most LOGGED_PATH_CHARS of the path: a flood of long paths must not flood the logs).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'winston';
import { lineWriter } from '../logger.ts';
import { afterNext } from './compose.ts';
import type { Middleware } from './context.ts';

export interface RequestContextOptions {
  logger: Logger;
  /** For Cloud Logging's trace correlation. */
  projectId?: string | undefined;
}

/** How much of the path an access line keeps: a 15 KB path costs a log line no more than a short one. */
export const LOGGED_PATH_CHARS = 256;

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const CLOUD_TRACE = /^([0-9a-f]{32})\/\d+(;o=[01])?$/i;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The path as logged: at most LOGGED_PATH_CHARS of it, then a marker with its full length. */
export function loggedPath(path: string): string {
  return path.length <= LOGGED_PATH_CHARS ? path : `${path.slice(0, LOGGED_PATH_CHARS)}…[${path.length} chars]`;
}

function traceIdOf(header: string | string[] | undefined, pattern: RegExp): string | undefined {
  return typeof header === 'string' ? pattern.exec(header)?.[1]?.toLowerCase() : undefined;
}

export function requestContext(options: RequestContextOptions): Middleware {
  const writeLine = lineWriter(options.logger);
  return (ctx, next) => {
    const { req, res } = ctx;
    const traceId = traceIdOf(req.headers['x-cloud-trace-context'], CLOUD_TRACE) ?? traceIdOf(req.headers.traceparent, TRACEPARENT);
    const incoming = req.headers['x-request-id'];
    ctx.requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : (traceId ?? randomUUID());
    ctx.responseHeaders['X-Request-Id'] = ctx.requestId;

    ctx.logFields.requestId = ctx.requestId;
    if (traceId && options.projectId) ctx.logFields['logging.googleapis.com/trace'] = `projects/${options.projectId}/traces/${traceId}`;

    return afterNext(next, (error) => {
      const status = res.statusCode;
      const durationMs = Math.round((performance.now() - ctx.startedAt) * 100) / 100;
      // Path only (query strings can carry things that must not be logged), and capped.
      writeLine(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info', 'request', {
        ...ctx.logFields,
        method: req.method,
        path: loggedPath(ctx.path),
        route: ctx.route?.id,
        status,
        durationMs,
        ip: ctx.ip,
        userId: ctx.principal?.subject,
      });
      if (error !== undefined) throw error;
    });
  };
}
