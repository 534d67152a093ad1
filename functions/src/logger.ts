/**
 * Structured JSON logs with winston: one object a line on stdout locally; deployed, Cloud
 * Logging's structured lines on stdout, which the platform ingests. Secrets never reach a log:
 * fields whose names suggest credentials are replaced, and anything shaped like a JWT is masked
 * wherever it appears.
 *
 * The deployed lines have the shape @google-cloud/logging-winston writes with
 * `redirectToStdout: true, useMessageField: false` (the transport this module used to load):
 * Cloud Logging's special fields (severity, timestamp, trace, span, labels, httpRequest) at the
 * top, `message`, and the entry's own fields under `metadata`. They are written here, without
 * the library: it writes the very same lines to the same stdout, and importing it (its Logging
 * client, google-gax, gRPC) cost about 0.2–0.3 s of every instance's first request. Left out of
 * its lines: the per-line insertId (Cloud Logging assigns one), its `logName` field (not one
 * that stdout ingestion reads: it landed in the payload as `projects/{{projectId}}/logs/winston_log`)
 * and its one-time instrumentation entry. test/pipeline/request-context.test.ts holds these
 * lines to the library's own.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';
import TransportStream from 'winston-transport';

export type { Logger } from 'winston';

const SECRET_FIELD = /authorization|cookie|password|passwd|secret|token|jwt|csrf|otp|private|credential|^d$/i;
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
export const REDACTED = '[redacted]';
/** Cloud Logging's severity names for winston's levels (it knows WARNING, not WARN). */
const SEVERITY: Record<string, string> = { error: 'ERROR', warn: 'WARNING', info: 'INFO', debug: 'DEBUG' };
/** The same for the deployed lines, as @google-cloud/logging-winston maps npm's levels. */
const CLOUD_SEVERITY: Record<string, string> = { ...SEVERITY, http: 'INFO', verbose: 'DEBUG', silly: 'DEBUG' };
/** winston's key for the serialized line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/** Field names repeat on every line: test each name against SECRET_FIELD once. */
const secretNames = new Map<string, boolean>();
function isSecretName(key: string): boolean {
  let secret = secretNames.get(key);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(key);
    if (secretNames.size < 10_000) secretNames.set(key, secret);
  }
  return secret;
}

/**
 * Whether a string may hold a JWT, as JWT_LIKE finds them: every JWT starts with "eyJ" (base64url
 * of '{"') and is at least 15 characters long; most strings logged are neither, and skip the regex.
 */
function mayHoldJwt(value: string): boolean {
  return value.length >= 15 && value.includes('eyJ');
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return mayHoldJwt(value) ? value.replace(JWT_LIKE, REDACTED) : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[truncated]';
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretName(key) ? REDACTED : scrub(item, depth + 1);
  }
  return out;
}

/**
 * One pass over each entry, in place (so every transport sees the redacted entry): errors keep
 * name, message and stack (server side only), secrets are redacted, Cloud Logging's `severity`
 * is added, and the line is serialized. One format instead of a chain keeps the per-request
 * access log cheap.
 */
const structured = winston.format((info, options?: unknown) => {
  // for-in, not Object.keys: V8 reads each value through the enumeration cache of the entry's
  // shape, where `info[key]` over a list of names is a megamorphic lookup (~100 instructions) a field.
  for (const key in info) {
    const value = info[key];
    if (isSecretName(key)) info[key] = REDACTED;
    else if (value instanceof Error) info[key] = scrub(errorFields(value), 0);
    else if (typeof value === 'object' && value !== null) info[key] = scrub(value, 0);
    // Most strings hold nothing to mask, and are left as they are.
    else if (typeof value === 'string' && mayHoldJwt(value)) info[key] = scrub(value, 0);
  }
  const now = Date.now();
  info.severity = SEVERITY[info.level] ?? 'DEFAULT';
  info.timestamp = isoTimestamp(now);
  info[MESSAGE] = (options as { cloud?: boolean } | undefined)?.cloud ? cloudLoggingLine(info, now) : JSON.stringify(info);
  return info;
});

/** The second `isoTimestamp` last formatted, and its text up to the milliseconds. */
let second = Number.NaN;
let secondText = '';

/**
 * `new Date(now).toISOString()`, formatting only the milliseconds for a second it has formatted
 * already: V8 formats a date through printf, about as costly as the rest of an access line.
 */
export function isoTimestamp(now: number): string {
  const ms = now % 1000;
  if (now - ms !== second || ms < 0) {
    const text = new Date(now).toISOString();
    if (ms < 0 || text.length !== 24) return text; // before 1970 or beyond year 9999: no shortcut
    second = now - ms;
    secondText = text.slice(0, 20);
  }
  return `${secondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** Cloud Logging's special fields, moved out of `metadata` to the top of the line (as logging-winston does). */
const TRACE = 'logging.googleapis.com/trace';
const SPAN_ID = 'logging.googleapis.com/spanId';
const TRACE_SAMPLED = 'logging.googleapis.com/trace_sampled';
const LABELS = 'logging.googleapis.com/labels';
/** What logging-winston takes out of an entry's fields: winston's own, and what it promotes or drops. */
const NOT_METADATA = new Set(['message', 'level', 'splat', TRACE, SPAN_ID, TRACE_SAMPLED, 'httpRequest', 'labels', 'timestamp', 'logName']);

/**
 * One entry as @google-cloud/logging-winston's LoggingWinston (`redirectToStdout: true,
 * useMessageField: false`) serializes it: its `log` and LogSync's `toStructuredJSON`.
 */
function cloudLoggingLine(info: winston.Logform.TransformableInfo, now: number): string {
  const metadata: Record<string, unknown> = {};
  for (const key of Object.keys(info)) if (!NOT_METADATA.has(key)) metadata[key] = info[key];
  let message = typeof info.message === 'string' ? info.message : info.message === undefined || info.message === null ? '' : JSON.stringify(info.message);
  // An error logged as the message: its stack goes into the message, for Error Reporting.
  if (typeof info.stack === 'string' && info.stack) message += (message ? ' ' : '') + info.stack;
  const line: Record<string, unknown> = { timestamp: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1_000_000 } };
  if (info.httpRequest !== undefined) line.httpRequest = info.httpRequest;
  line.severity = CLOUD_SEVERITY[info.level] ?? 'DEFAULT';
  if (info.labels) line[LABELS] = info.labels;
  if (info[TRACE]) line[TRACE] = info[TRACE];
  if (info[SPAN_ID]) line[SPAN_ID] = info[SPAN_ID];
  if (TRACE_SAMPLED in info) line[TRACE_SAMPLED] = info[TRACE_SAMPLED] === true;
  line.message = message;
  line.metadata = metadata;
  return JSON.stringify(line);
}

function errorFields(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, code: (error as { code?: unknown }).code, stack: error.stack };
}

/**
 * JSON lines to a stream, gathered and written once per turn of the event loop: under load
 * that is one write for many requests instead of one per line.
 */
class JsonLinesTransport extends TransportStream {
  readonly #stream: Writable;
  #lines: string[] = [];
  #scheduled = false;

  constructor(stream: Writable) {
    super();
    this.#stream = stream;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.#lines.push(info[MESSAGE] as string);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    next();
  }

  override close(): void {
    this.#flush();
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#stream.write(text);
  }
}

const LEVEL = Symbol.for('level');
const ignore = () => {};

/**
 * `logger.log(level, message, fields)` for the one line every request writes (`fields` made
 * for it: the writer may keep it as the entry), with the same
 * result: the same entry through the logger's format, then to each transport as winston-transport
 * takes it (its level, its own format, `silent`). It leaves out what lies between them in
 * winston — a Transform stream piped into each transport, two object streams a line — a few
 * percent of a GET /items/:id's instructions (BENCH_ONLY=instructions). A transport
 * that is not a winston-transport TransportStream gets every line through winston itself.
 */
export function lineWriter(logger: winston.Logger): (level: string, message: string, fields: Record<string, unknown>) => void {
  return (level, message, fields) => {
    const { transports } = logger;
    for (const transport of transports) {
      if (!(transport instanceof TransportStream)) {
        logger.log(level, message, fields);
        return;
      }
    }
    // `fields` is the caller's own, made for this line: without default fields (winston keeps
    // null then) it becomes the entry itself, its keys in the order winston's
    // `{ ...defaultMeta, ...fields, level, message }` has.
    const defaults = logger.defaultMeta as Record<string, unknown> | null | undefined;
    const info = (defaults ? { ...defaults, ...fields } : fields) as winston.Logform.TransformableInfo;
    info[LEVEL] = level;
    info.level = level;
    info.message = message;
    const entry = logger.format.transform(info, logger.format.options);
    if (!entry) return;
    for (const transport of transports) (transport as unknown as Writable)._write(entry, 'utf8', ignore);
  };
}

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  /** `stdout`: one flat JSON object a line; `cloud-logging`: Cloud Logging's structured lines (logging-winston's shape). */
  target: 'stdout' | 'cloud-logging';
  /** Where lines go instead of stdout (tests read them). */
  stream?: Writable;
}

/**
 * The format every line goes through (redaction, severity, timestamp, serialization): Cloud
 * Logging's structured line for `cloud-logging`, else a flat JSON object.
 */
export function logFormat(target: LoggerOptions['target']): winston.Logform.Format {
  return structured({ cloud: target === 'cloud-logging' });
}

export async function createLogger(options: LoggerOptions): Promise<winston.Logger> {
  const format = logFormat(options.target);
  const transport = new JsonLinesTransport(options.stream ?? process.stdout);
  return winston.createLogger({ level: options.level, format, transports: [transport] });
}
