/**
 * Structured JSON logs with winston: one object a line on stdout locally, Cloud Logging's
 * structured format when deployed (loaded only then). Secrets never reach a log: fields whose
 * names suggest credentials are replaced, and anything shaped like a JWT is masked wherever it
 * appears.
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

function scrub(value: unknown, depth: number): unknown {
  // Every JWT starts with "eyJ" (base64url of '{"'): skip the regex for strings without it.
  if (typeof value === 'string') return value.includes('eyJ') ? value.replace(JWT_LIKE, REDACTED) : value;
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
const structured = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const value = info[key];
    if (isSecretName(key)) info[key] = REDACTED;
    else if (value instanceof Error) info[key] = scrub(errorFields(value), 0);
    else if (typeof value === 'string' || (typeof value === 'object' && value !== null)) info[key] = scrub(value, 0);
  }
  info.severity = SEVERITY[info.level] ?? 'DEFAULT';
  info.timestamp = new Date().toISOString();
  info[MESSAGE] = JSON.stringify(info);
  return info;
});

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

export interface LoggerOptions {
  level: 'error' | 'warn' | 'info' | 'debug';
  target: 'stdout' | 'cloud-logging';
  /** Where lines go instead of stdout (tests read them). */
  stream?: Writable;
}

export async function createLogger(options: LoggerOptions): Promise<winston.Logger> {
  const format = structured();
  let transport: TransportStream;
  if (options.stream) {
    transport = new JsonLinesTransport(options.stream);
  } else if (options.target === 'cloud-logging') {
    // Heavy (the Cloud Logging client): only when deployed. Structured lines to stdout are
    // picked up by the platform's agent, with no API call on the request path.
    const { LoggingWinston } = await import('@google-cloud/logging-winston');
    transport = new LoggingWinston({ redirectToStdout: true, useMessageField: false });
  } else {
    transport = new JsonLinesTransport(process.stdout);
  }
  return winston.createLogger({ level: options.level, format, transports: [transport] });
}
