/**
 * TOTP secrets sealed at rest with AES-256-GCM under the configured keys (config/totp-keys.ts),
 * bound to their account by the associated data, so a copy of the database yields no second
 * factors and a sealed secret cannot be moved to another account.
 *
 *   enc1.<kid>.<12-byte IV, base64url>.<ciphertext and 16-byte tag, base64url>
 *
 * Secrets stored before sealing existed (plain base32) are still read, and sealed when next
 * written; so are secrets sealed with a key that is no longer the first.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.ts';
import type { TotpKeys } from '../config/totp-keys.ts';

const PREFIX = 'enc1';
const FORMAT = /^enc1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/;
const PLAIN = /^[A-Z2-7]+=*$/;

export class TotpSecretError extends Error {
  override readonly name = 'TotpSecretError';
  readonly code = 'ERR_TOTP_SECRET';
}

const aad = (uid: string) => Buffer.from(`bastion totp secret|${uid}`);

export class TotpSecrets {
  readonly #keys: TotpKeys;

  constructor(keys: TotpKeys) {
    this.#keys = keys;
  }

  seal(uid: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.current.key, iv).setAAD(aad(uid));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}.${this.#keys.current.kid}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The base32 secret. Throws TotpSecretError for a key no longer configured or a value tampered with. */
  open(uid: string, stored: string): string {
    if (PLAIN.test(stored)) return stored;
    const match = FORMAT.exec(stored);
    if (!match) throw new TotpSecretError('not a TOTP secret this service sealed');
    const [, kid, iv, body] = match;
    const key = this.#keys.byKid.get(kid!);
    if (!key) throw new TotpSecretError(`the TOTP secret is sealed with key "${kid}", which AUTH_TOTP_KEYS no longer holds`);
    const bytes = Buffer.from(body!, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url')).setAAD(aad(uid));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new TotpSecretError("the TOTP secret does not open with its key (tampered with, or another account's)", { cause: error });
    }
  }

  /** The stored value as it should be stored now: sealed, with the current key. */
  current(uid: string, stored: string): string {
    return stored.startsWith(`${PREFIX}.${this.#keys.current.kid}.`) ? stored : this.seal(uid, this.open(uid, stored));
  }
}

const instances = new WeakMap<TotpKeys, TotpSecrets>();

/** The sealer for the configured keys, made once. */
export function totpSecretsFor(auth: Config['auth']): TotpSecrets {
  let secrets = instances.get(auth.totpKeys);
  if (!secrets) {
    secrets = new TotpSecrets(auth.totpKeys);
    instances.set(auth.totpKeys, secrets);
  }
  return secrets;
}
