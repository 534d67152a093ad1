/**
 * Keys derived from the current signing key with HKDF, one per purpose (CSRF tokens, device
 * tokens, refresh-token successors), so there is no other secret to manage and no purpose's key opens another's. A key
 * rotation changes them too: what they protect is short-lived or only a convenience.
 */
import { hkdfSync } from 'node:crypto';
import type { Config } from '../config/index.ts';

export type KeyPurpose = 'csrf token v1' | 'device token v1' | 'refresh successor v1';

const derived = new WeakMap<object, Map<KeyPurpose, Buffer>>();

export function derivedKey(auth: Config['auth'], purpose: KeyPurpose): Buffer {
  let keys = derived.get(auth.keys.current);
  if (!keys) {
    keys = new Map();
    derived.set(auth.keys.current, keys);
  }
  let key = keys.get(purpose);
  if (!key) {
    const secret = Buffer.from(auth.keys.current.d!, 'base64url');
    key = Buffer.from(hkdfSync('sha256', secret, 'bastion', purpose, 32));
    keys.set(purpose, key);
  }
  return key;
}
