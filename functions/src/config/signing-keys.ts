/**
 * Token signing keys: a JWK set in AUTH_SIGNING_KEYS. The first key is private and signs new
 * tokens; every key (current and previous) verifies, picked by `kid`, so keys can rotate:
 * put the new key first, keep the old one until the last token it signed has expired.
 *
 * Only Ed25519 (JWS `EdDSA`) keys are accepted: one algorithm, pinned everywhere.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { z } from 'zod';

export const SIGNING_ALGORITHM = 'EdDSA';

const base64url32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes of base64url');

const ed25519Jwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  kid: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'kid must be 1-128 of [A-Za-z0-9._-]'),
  x: base64url32,
  d: base64url32.optional(),
  alg: z.literal(SIGNING_ALGORITHM).optional(),
});

const keySet = z
  .object({ keys: z.array(ed25519Jwk).min(1) })
  .refine((set) => set.keys[0]?.d !== undefined, 'the first key signs, so it must be private (have "d")')
  .refine((set) => new Set(set.keys.map((k) => k.kid)).size === set.keys.length, 'kids must be unique');

export interface SigningKeys {
  /** The private JWK new tokens are signed with. */
  current: JWK & { kid: string };
  /** Public JWKs of every accepted key, current first: for verification and the published JWKS. */
  verification: (JWK & { kid: string })[];
}

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
  readonly code = 'ERR_SIGNING_KEYS';
}

export function parseSigningKeys(json: string): SigningKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new SigningKeyError('AUTH_SIGNING_KEYS is not JSON');
  }
  const parsed = keySet.safeParse(raw);
  if (!parsed.success) throw new SigningKeyError(`AUTH_SIGNING_KEYS: ${z.prettifyError(parsed.error)}`);
  const [current] = parsed.data.keys;
  return {
    current: { ...current!, alg: SIGNING_ALGORITHM },
    verification: parsed.data.keys.map(({ kty, crv, kid, x }) => ({ kty, crv, kid, x, alg: SIGNING_ALGORITHM, use: 'sig' })),
  };
}

/** A fresh Ed25519 key as a private JWK whose kid is its RFC 7638 thumbprint. */
export async function generateSigningKey(prefix = ''): Promise<JWK & { kid: string }> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = `${prefix}${await calculateJwkThumbprint(jwk)}`;
  return { ...jwk, kid, alg: SIGNING_ALGORITHM };
}

/**
 * The configured keys; outside production, when none are configured, a development key kept
 * under DATA_DIR (generated on first start, with a loud warning; the file 0600, DATA_DIR 0700
 * when made here). Tests get a throwaway key.
 */
export async function loadSigningKeys(options: { json: string | undefined; env: 'development' | 'test' | 'production'; dataDir: string }): Promise<SigningKeys> {
  if (options.json) return parseSigningKeys(options.json);
  if (options.env === 'production') throw new SigningKeyError('AUTH_SIGNING_KEYS is required in production');
  if (options.env === 'test') return parseSigningKeys(JSON.stringify({ keys: [await generateSigningKey('test-')] }));

  const file = join(options.dataDir, 'dev-signing-keys.json');
  try {
    const keys = parseSigningKeys(readFileSync(file, 'utf8'));
    keepPrivate(file);
    return keys;
  } catch (error) {
    if (error instanceof SigningKeyError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SigningKeyError(`cannot read the development key ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  const keys = JSON.stringify({ keys: [await generateSigningKey('dev-')] }, null, 2);
  try {
    // Modes set after creating, as well: the umask only ever takes bits away from what is asked.
    if (mkdirSync(options.dataDir, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(options.dataDir, 0o700);
    writeFileSync(file, keys, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  } catch (error) {
    // Another process (the emulator starts one per function) wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && existsSync(file)) return parseSigningKeys(readFileSync(file, 'utf8'));
    // A DATA_DIR this user cannot write is said in words at start-up, not as a stack trace.
    throw new SigningKeyError(`cannot write the development key ${file}: ${(error as Error).message}; DATA_DIR must name a folder this user can write`, { cause: error });
  }
  process.stderr.write(
    [
      '',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '!! No AUTH_SIGNING_KEYS set: generated a DEVELOPMENT signing key at',
      `!!   ${file}`,
      '!! Tokens it signs are for local use only. Production refuses to start without',
      '!! AUTH_SIGNING_KEYS (see README, "Configuration").',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '',
    ].join('\n'),
  );
  return parseSigningKeys(keys);
}

/** The development key is a private key: a file an older run left readable by others is made 0600, loudly. */
function keepPrivate(file: string): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
    process.stderr.write(`bastion: ${file} was readable by others (0${mode.toString(8)}): made it 0600\n`);
  } catch (error) {
    process.stderr.write(`bastion: ${file} is readable by others (0${mode.toString(8)}) and could not be made 0600: ${(error as Error).message}\n`);
  }
}
