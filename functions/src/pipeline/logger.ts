/**
 * Structured JSON logs with winston: one object a line on stdout locally, Cloud Logging's
 * structured format when deployed (loaded only then). Secrets never reach a log: fields whose
 * names suggest credentials are replaced, and anything shaped like a JWT is masked wherever it
 * appears.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';

export type { Logger } from 'winston';

const SECRET_FIELD = /authorization|cookie|password|passwd|secret|token|jwt|csrf|otp|private|credential|^d$/i;
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
export const REDACTED = '[redacted]';

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(JWT_LIKE, REDACTED);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) ? REDACTED : scrub(item, depth + 1);
  }
  return out;
}

/** A winston format that redacts secrets from every field of every entry. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = SECRET_FIELD.test(key) ? REDACTED : scrub(info[key], 0);
  }
  return info;
});

/** Cloud Logging reads `severity`; keep `level` too for local readers. */
const severity = winston.format((info) => {
  info.severity = info.level.toUpperCase();
  return info;
});

/** Errors logged as `{ err }` keep name, message and stack (server side only). */
const errors = winston.format((info) => {
  const err = info.err;
  if (err instanceof Error) {
    info.err = { name: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack };
  }
  return info;
});

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  target: 'stdout' | 'cloud-logging';
  /** Where lines go instead of stdout (tests read them). */
  stream?: Writable;
}

export async function createLogger(options: LoggerOptions): Promise<winston.Logger> {
  const format = winston.format.combine(errors(), redact(), severity(), winston.format.timestamp(), winston.format.json());
  let transport: winston.transport;
  if (options.stream) {
    transport = new winston.transports.Stream({ stream: options.stream });
  } else if (options.target === 'cloud-logging') {
    // Heavy (the Cloud Logging client): only when deployed. Structured lines to stdout are
    // picked up by the platform's agent, with no API call on the request path.
    const { LoggingWinston } = await import('@google-cloud/logging-winston');
    transport = new LoggingWinston({ redirectToStdout: true, useMessageField: false });
  } else {
    transport = new winston.transports.Console();
  }
  return winston.createLogger({ level: options.level, format, transports: [transport] });
}
