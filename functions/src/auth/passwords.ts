/**
 * Password hashing with scrypt from node:crypto at OWASP's parameters (N=2^17, r=8, p=1,
 * 16-byte salt, 32-byte key), stored self-describing so parameters can change: hashes made
 * with older parameters still verify, and `needsRehash` tells the login to upgrade them.
 *
 *   scrypt$ln=17,r=8,p=1$<salt, base64url>$<key, base64url>
 *
 * A derivation holds one of libuv's pool threads (4 by default, shared with file I/O, dns.lookup,
 * zlib and sharp) and 128 MiB for ~0.1–1 s. Unbounded, 24 logins in flight took every thread and
 * made a 3 ms download take 10 s. So derivations run through a line (work-queue.ts): at most
 * HASH_LIMITS.concurrency at once, never more than libuv's default pool less two, so file I/O
 * keeps threads whatever UV_THREADPOOL_SIZE turned out to be (thread-pool.ts raises it where it
 * can); a few more wait, and beyond that the request is answered 503 auth_busy with Retry-After.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { AuthBusyError } from './busy-errors.ts';
import { createWorkQueue, WorkQueueBusyError } from '../work-queue.ts';

export interface ScryptParameters {
  /** log2 of N, the cost. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP's parameters: what every new hash is made with unless a spec put others in place. */
export const OWASP_PARAMETERS: Readonly<ScryptParameters> = Object.freeze({ ln: 17, r: 8, p: 1 });
let current: Readonly<ScryptParameters> = OWASP_PARAMETERS;

/** The parameters new hashes are made with, and that `needsRehash` compares against. */
export function currentHashParameters(): Readonly<ScryptParameters> {
  return current;
}

/**
 * Puts other parameters in place for the hashes this process makes from now on; gives back a
 * function that restores the previous ones. The product never calls it: the specs do (a
 * cheaper cost, test/support/spec-hashing.ts, as they hash thousands of passwords, each 0.1–1 s
 * at OWASP's), and the specs of the cost itself put OWASP's back. A hash carries its
 * parameters, so one made either way verifies in any process.
 */
export function setHashParameters(next: ScryptParameters): () => void {
  const previous = current;
  current = Object.freeze({ ...next });
  return () => {
    current = previous;
  };
}

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

export class PasswordHashFormatError extends Error {
  override name = 'PasswordHashFormatError';
  readonly code = 'ERR_PASSWORD_HASH_FORMAT';
}

/** libuv's pool when UV_THREADPOOL_SIZE is not set (or was set too late to count). */
const LIBUV_DEFAULT_POOL = 4;

/**
 * Derivations at once: one per core, at most two (libuv's default pool of four, less two kept
 * for I/O). Waiting: sixteen, enough for a burst of logins (the guessing limits let ten of one
 * email and address through at once), and none for longer than eight seconds, so a login, or
 * a registration after its strength check (password-strength.ts), ends within the function's
 * 30 s. Waiting costs no memory: only running derivations hold their 128 MiB.
 */
export const HASH_LIMITS = {
  concurrency: Math.max(1, Math.min(availableParallelism(), LIBUV_DEFAULT_POOL - 2)),
  maxWaiting: 16,
  maxWaitMs: 8000,
};

const derivations = createWorkQueue(HASH_LIMITS);

function scrypt(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  const N = 2 ** parameters.ln;
  // scrypt needs 128·N·r bytes; node's default cap (32 MiB) is below OWASP's parameters.
  const options: ScryptOptions = { N, r: parameters.r, p: parameters.p, maxmem: 256 * N * parameters.r };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Rejects with AuthBusyError (503) when the line is full: the password was not looked at. */
async function derive(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  try {
    return await derivations.run(() => scrypt(password, salt, parameters));
  } catch (error) {
    throw error instanceof WorkQueueBusyError ? new AuthBusyError(error) : error;
  }
}

function parse(stored: string): { parameters: ScryptParameters; salt: Buffer; key: Buffer } {
  const match = FORMAT.exec(stored);
  if (!match) throw new PasswordHashFormatError('not a password hash this service made');
  const [, ln, r, p, salt, key] = match;
  return { parameters: { ln: Number(ln), r: Number(r), p: Number(p) }, salt: Buffer.from(salt!, 'base64url'), key: Buffer.from(key!, 'base64url') };
}

export async function hashPassword(password: string, parameters: ScryptParameters = current): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, parameters);
  return `scrypt$ln=${parameters.ln},r=${parameters.r},p=${parameters.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Compares in constant time, with the parameters the hash was made with. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { parameters, salt, key } = parse(stored);
  const candidate = await derive(password, salt, parameters);
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

/** True when the hash was made with other parameters than today's: rehash on the next login. */
export function needsRehash(stored: string, today: ScryptParameters = current): boolean {
  const { parameters } = parse(stored);
  return parameters.ln !== today.ln || parameters.r !== today.r || parameters.p !== today.p;
}

/**
 * A hash of a password nobody has, computed once: a login for an unknown account verifies
 * against it, so it takes as long as a wrong password for a real one (no enumeration by timing).
 */
let decoy: { parameters: Readonly<ScryptParameters>; hash: Promise<string> } | undefined;
export function decoyHash(): Promise<string> {
  // Made again when the parameters changed, so that it stays exactly as costly as a real hash.
  if (decoy?.parameters !== current) {
    const made: NonNullable<typeof decoy> = {
      parameters: current,
      hash: hashPassword(randomBytes(32).toString('base64url'), current).catch((error: unknown) => {
        if (decoy === made) decoy = undefined; // refused while busy: the next login makes it
        throw error;
      }),
    };
    decoy = made;
  }
  return decoy.hash;
}
