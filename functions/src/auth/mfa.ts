/**
 * Multi-factor authentication with TOTP (RFC 6238, via otpauth): 6 digits, 30-second steps,
 * SHA-1 (what every authenticator app supports), one step of tolerance either way. A code is
 * good once: the step it matched is remembered and no code of that step or an earlier one is
 * accepted again. Recovery codes are 120 random bits each, so a plain SHA-256 stores them
 * safely; each works once.
 */
import { createHash } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { TotpSecrets } from './totp-secrets.ts';

const PERIOD = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
export const RECOVERY_CODE_COUNT = 10;
/** How long a login's MFA challenge lives, and how many codes it may try. */
export const CHALLENGE_TTL_SECONDS = 300;
export const CHALLENGE_MAX_ATTEMPTS = 5;

export interface MfaState {
  [field: string]: string | number | string[];
  /** Sealed (auth/totp-secrets.ts). */
  secret: string;
  enabledAt: string;
  /** The last time step a code was accepted for. */
  lastStep: number;
  /** SHA-256 of each unused recovery code. */
  recoveryCodes: string[];
}

export interface PendingMfa {
  [field: string]: string;
  /** Sealed (auth/totp-secrets.ts). */
  secret: string;
  createdAt: string;
}

function totp(secret: string, label = 'account', issuer = 'bastion'): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period: PERIOD });
}

/** 160 random bits, base32, as RFC 4226 recommends. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function otpauthUri(secret: string, label: string, issuer: string): string {
  return totp(secret, label, issuer).toString();
}

export function qrCodeDataUrl(text: string): Promise<string> {
  return QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2 });
}

/** The time step `code` is valid for (now, or one step either side), or null. */
export function matchingStep(secret: string, code: string, now = Date.now()): number | null {
  const generator = totp(secret);
  const delta = generator.validate({ token: code, timestamp: now, window: 1 });
  return delta === null ? null : generator.counter({ timestamp: now }) + delta;
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256')
    .update(code.toUpperCase().replace(/[^A-Z0-9]/g, ''))
    .digest('hex');
}

/** Ten codes like `K7QX-2M9P-…` (15 random bytes, base32, in groups of four), and their hashes. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const base32 = new Secret({ size: 15 }).base32;
    return base32.match(/.{1,4}/g)!.join('-');
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export type CodeCheck = { ok: true; step: number } | { ok: false; reason: 'wrong' | 'replayed' };

/** Checks a TOTP code against an enabled MFA state (and its secret, opened), refusing one already used. */
export function checkTotp(mfa: MfaState, secret: string, code: string, now = Date.now()): CodeCheck {
  const step = matchingStep(secret, code, now);
  if (step === null) return { ok: false, reason: 'wrong' };
  if (step <= mfa.lastStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}

/** A second factor as a person gives it: a code from the authenticator app, or a recovery code. */
export type Proof = { code: string } | { recoveryCode: string };

export type ProofCheck = { ok: true; mfa: MfaState; method: 'totp' | 'recovery_code' } | { ok: false; reason: 'wrong' | 'replayed' };

/**
 * Judges a second factor against the account's MFA state. When it holds, the state to write in
 * the same transaction: the code's step remembered (and the secret sealed again under the
 * current key, if an older one sealed it), or the recovery code struck off.
 */
export function proveSecondFactor(mfa: MfaState, secrets: TotpSecrets, uid: string, proof: Proof): ProofCheck {
  if ('code' in proof) {
    const check = checkTotp(mfa, secrets.open(uid, mfa.secret), proof.code);
    if (!check.ok) return check;
    return { ok: true, mfa: { ...mfa, lastStep: check.step, secret: secrets.current(uid, mfa.secret) }, method: 'totp' };
  }
  const hash = hashRecoveryCode(proof.recoveryCode);
  if (!mfa.recoveryCodes.includes(hash)) return { ok: false, reason: 'wrong' };
  return { ok: true, mfa: { ...mfa, recoveryCodes: mfa.recoveryCodes.filter((code) => code !== hash) }, method: 'recovery_code' };
}
