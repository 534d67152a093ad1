/**
 * The second step of a login with MFA. After the password, login hands out a challenge (an
 * opaque random value, stored only as its hash, good for 5 minutes and 5 tries); a TOTP code
 * or a recovery code completes it. Wrong and replayed codes are counted against the challenge
 * in the same transaction that refuses them.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DocumentStore } from '../store/port.ts';
import { USERS, accountOf, type Account, type UserDocument } from './accounts.ts';
import { CHALLENGE_MAX_ATTEMPTS, CHALLENGE_TTL_SECONDS, proveSecondFactor, type Proof } from './mfa.ts';
import type { TotpSecrets } from './totp-secrets.ts';

export const MFA_CHALLENGES = 'mfaChallenges';

interface ChallengeDocument {
  [field: string]: string | number | boolean | null;
  uid: string;
  attempts: number;
  /** Whether the login presented this account's device token (a device that signed in before); absent in challenges made before it was kept. */
  knownDevice: boolean | null;
  expiresAt: number;
}

export type ChallengeOutcome =
  | { kind: 'passed'; account: Account; method: 'totp' | 'recovery_code'; recoveryCodesLeft: number; knownDevice: boolean }
  | { kind: 'refused'; reason: 'unknown_challenge' | 'wrong' | 'replayed'; uid?: string };

const hashOf = (challenge: string) => createHash('sha256').update(challenge).digest('hex');

export async function createChallenge(store: DocumentStore, uid: string, knownDevice: boolean): Promise<string> {
  const challenge = randomBytes(32).toString('base64url');
  await store.create(MFA_CHALLENGES, hashOf(challenge), { uid, attempts: 0, knownDevice, expiresAt: Date.now() + CHALLENGE_TTL_SECONDS * 1000 });
  return challenge;
}

/** Whose sign-in a challenge continues, if it is live: what its guessing limits are counted on. */
export async function challengeOwner(store: DocumentStore, challenge: string): Promise<string | undefined> {
  const pending = await store.get<ChallengeDocument>(MFA_CHALLENGES, hashOf(challenge));
  return pending && pending.attempts < CHALLENGE_MAX_ATTEMPTS ? pending.uid : undefined;
}

export async function answerChallenge(store: DocumentStore, secrets: TotpSecrets, challenge: string, proof: Proof): Promise<ChallengeOutcome> {
  const id = hashOf(challenge);
  return store.runTransaction(async (tx): Promise<ChallengeOutcome> => {
    const pending = await tx.get<ChallengeDocument>(MFA_CHALLENGES, id);
    if (!pending || pending.attempts >= CHALLENGE_MAX_ATTEMPTS) return { kind: 'refused', reason: 'unknown_challenge' };
    const user = await tx.get<UserDocument>(USERS, pending.uid);
    if (!user?.mfa) return { kind: 'refused', reason: 'unknown_challenge' };
    const refuse = (reason: 'wrong' | 'replayed'): ChallengeOutcome => {
      tx.update(MFA_CHALLENGES, id, { attempts: pending.attempts + 1 });
      return { kind: 'refused', reason, uid: pending.uid };
    };

    const proven = proveSecondFactor(user.mfa, secrets, pending.uid, proof);
    if (!proven.ok) return refuse(proven.reason);
    const { mfa, method } = proven;
    tx.update(USERS, pending.uid, { mfa });
    tx.delete(MFA_CHALLENGES, id);
    return { kind: 'passed', account: accountOf(pending.uid, { ...user, mfa }), method, recoveryCodesLeft: mfa.recoveryCodes.length, knownDevice: pending.knownDevice === true };
  });
}
