/**
 * Keys that encrypt TOTP secrets at rest: AUTH_TOTP_KEYS, a JWK set of 256-bit symmetric keys
 * (`{"keys":[{"kty":"oct","kid":"2026-12","k":"<32 bytes, base64url>"}]}`). The first key
 * seals; every key opens, picked by `kid`, so keys rotate like the signing keys: put the new
 * one first, and secrets sealed with an older one are sealed again when next used.
 *
 * Required in production. In development, when none is set, one is derived from the signing
 * key (so a copy of the database alone still yields no second factors); tests get their own.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SigningKeys } from './signing-keys.ts';

export interface TotpKeys {
  current: { kid: string; key: Buffer };
  /** Every accepted key, by kid. */
  byKid: ReadonlyMap<string, Buffer>;
}

export class TotpKeyError extends Error {
  override name = 'TotpKeyError';
  readonly code = 'ERR_TOTP_KEYS';
}

const keySet = z
  .object({
    keys: z
      .array(
        z.object({
          kty: z.literal('oct'),
          kid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'kid must be 1-64 of [A-Za-z0-9_-]'),
          k: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'k must be 32 bytes of base64url'),
        }),
      )
      .min(1),
  })
  .refine((set) => new Set(set.keys.map((key) => key.kid)).size === set.keys.length, 'kids must be unique');

export function parseTotpKeys(json: string): TotpKeys {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new TotpKeyError('AUTH_TOTP_KEYS is not JSON');
  }
  const parsed = keySet.safeParse(raw);
  if (!parsed.success) throw new TotpKeyError(`AUTH_TOTP_KEYS: ${z.prettifyError(parsed.error)}`);
  const byKid = new Map(parsed.data.keys.map((key) => [key.kid, Buffer.from(key.k, 'base64url')]));
  const first = parsed.data.keys[0]!;
  return { current: { kid: first.kid, key: byKid.get(first.kid)! }, byKid };
}

/** A fresh key set with one key, as AUTH_TOTP_KEYS wants it. */
export function generateTotpKeys(kid = 'k1'): string {
  return JSON.stringify({ keys: [{ kty: 'oct', kid, k: randomBytes(32).toString('base64url') }] });
}

export function loadTotpKeys(options: { json: string | undefined; env: 'development' | 'test' | 'production'; signingKeys: SigningKeys }): TotpKeys {
  if (options.json) return parseTotpKeys(options.json);
  if (options.env === 'production') throw new TotpKeyError('AUTH_TOTP_KEYS is required in production');
  if (options.env === 'test') return parseTotpKeys(generateTotpKeys('test'));
  const secret = Buffer.from(options.signingKeys.current.d!, 'base64url');
  const key = Buffer.from(hkdfSync('sha256', secret, 'bastion', 'development totp key v1', 32));
  const kid = `dev-${options.signingKeys.current.kid.slice(-8).replace(/[^A-Za-z0-9_-]/g, '')}`;
  return { current: { kid, key }, byKid: new Map([[kid, key]]) };
}
