/**
 * TOTP secrets sealed at rest (auth/sealed-secrets.ts: AES-256-GCM under the configured keys),
 * bound to their account by the associated data, so a copy of the database yields no second
 * factors and a sealed secret cannot be moved to another account.
 *
 * Secrets stored before sealing existed (plain base32) are still read, and sealed when next
 * written; so are secrets sealed with a key that is no longer the first.
 */
import type { Config } from '../config/index.ts';
import type { TotpKeys } from '../config/totp-keys.ts';
import { SealedSecrets } from './sealed-secrets.ts';

const PLAIN = /^[A-Z2-7]+=*$/;

export class TotpSecretError extends Error {
  override readonly name = 'TotpSecretError';
  readonly code = 'ERR_TOTP_SECRET';
}

export class TotpSecrets extends SealedSecrets {
  constructor(keys: TotpKeys) {
    super(keys, { purpose: 'bastion totp secret', what: 'the TOTP secret', error: (message, options) => new TotpSecretError(message, options) });
  }

  /** The base32 secret. Throws TotpSecretError for a key no longer configured or a value tampered with. */
  override open(uid: string, stored: string): string {
    return PLAIN.test(stored) ? stored : super.open(uid, stored);
  }

  /** The stored value as it should be stored now: sealed, with the current key. */
  current(uid: string, stored: string): string {
    return this.isCurrent(stored) ? stored : this.seal(uid, this.open(uid, stored));
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
