/**
 * Secrets the server must be able to read back (a TOTP seed, a service credential's signing
 * secret) sealed at rest with AES-256-GCM under the configured keys (AUTH_TOTP_KEYS,
 * config/totp-keys.ts), bound by the associated data to their purpose and their owner, so a copy
 * of the database yields none of them and a sealed secret cannot be moved to another owner or
 * put to another use.
 *
 *   enc1.<kid>.<12-byte IV, base64url>.<ciphertext and 16-byte tag, base64url>
 *
 * The first key seals, every key opens; `current` seals again under the first key.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { TotpKeys } from '../config/totp-keys.ts';

const PREFIX = 'enc1';
const FORMAT = /^enc1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22,})$/;

export interface SealedSecretsOptions {
  /** Bound into every seal: a secret sealed for one purpose does not open for another. */
  purpose: string;
  /** What the secret is, in error messages ("the TOTP secret"). */
  what: string;
  /** The error thrown when a secret does not open. */
  error: (message: string, options?: ErrorOptions) => Error;
}

export class SealedSecrets {
  readonly #keys: TotpKeys;
  readonly #options: SealedSecretsOptions;

  constructor(keys: TotpKeys, options: SealedSecretsOptions) {
    this.#keys = keys;
    this.#options = options;
  }

  #aad(owner: string): Buffer {
    return Buffer.from(`${this.#options.purpose}|${owner}`);
  }

  seal(owner: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.current.key, iv).setAAD(this.#aad(owner));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${PREFIX}.${this.#keys.current.kid}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The secret. Throws the configured error for a key no longer configured or a value tampered with. */
  open(owner: string, stored: string): string {
    const { what, error } = this.#options;
    const match = FORMAT.exec(stored);
    if (!match) throw error(`not a ${what.replace(/^the /, '')} this service sealed`);
    const [, kid, iv, body] = match;
    const key = this.#keys.byKid.get(kid!);
    if (!key) throw error(`${what} is sealed with key "${kid}", which AUTH_TOTP_KEYS no longer holds`);
    const bytes = Buffer.from(body!, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url')).setAAD(this.#aad(owner));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw error(`${what} does not open with its key (tampered with, or another owner's)`, { cause });
    }
  }

  /** Whether the stored value is sealed under the first key already. */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`${PREFIX}.${this.#keys.current.kid}.`);
  }
}
