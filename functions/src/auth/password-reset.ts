/**
 * Password reset. Asking mails the account a link (link-tokens.ts: single use, 30 minutes);
 * asking about an address without an account mails nothing, and the answer is the same.
 * Following the link sets the new password — and, for an account with MFA, only with a current
 * TOTP code or an unused recovery code (ASVS 6.4.3: the mailbox alone must not undo the second
 * factor). The link, the second factor and the new password are judged in the one transaction
 * that writes, so a link is spent only by the reset it allowed. The caller then ends every
 * session of the account.
 */
import type { DocumentStore } from '../store/port.ts';
import { USERS, getAccount, type Account } from './accounts.ts';
import { findLinkToken, linkTokenId, type LinkDocument, type LinkKind } from './link-tokens.ts';
import { proveSecondFactor, type Proof } from './mfa.ts';
import type { TotpSecrets } from './totp-secrets.ts';

export const PASSWORD_RESET: LinkKind = { collection: 'passwordResets', lifetimeMs: 30 * 60_000 };

/** Where a reset link leads: the web app's screen, the token in the fragment. */
export function resetLink(appUrl: string, token: string): string {
  return `${appUrl}/#/reset-password?token=${token}`;
}

/** The account a live reset link is for, read without spending it (to judge the new password against its address first). */
export async function resetLinkOwner(store: DocumentStore, token: string): Promise<Account | null> {
  const link = await store.get<LinkDocument>(PASSWORD_RESET.collection, linkTokenId(token));
  if (!link || link.expiresAt <= Date.now()) return null;
  const account = await getAccount(store, link.uid);
  return account && account.email === link.email ? account : null;
}

export type ResetOutcome =
  | { kind: 'reset'; account: Account; secondFactor: 'totp' | 'recovery_code' | null }
  | { kind: 'invalid_link' }
  /** The account has MFA and no second factor came with the reset. */
  | { kind: 'second_factor_required'; uid: string }
  | { kind: 'second_factor_refused'; uid: string; reason: 'wrong' | 'replayed' };

export interface ResetRequest {
  token: string;
  passwordHash: string;
  proof: Proof | undefined;
  secrets: TotpSecrets;
}

export async function resetPassword(store: DocumentStore, { token, passwordHash, proof, secrets }: ResetRequest): Promise<ResetOutcome> {
  return store.runTransaction(async (tx): Promise<ResetOutcome> => {
    const found = await findLinkToken(tx, PASSWORD_RESET, token);
    if (!found) return { kind: 'invalid_link' };
    const account = await getAccount(tx, found.link.uid);
    if (!account || account.email !== found.link.email) {
      found.spend();
      return { kind: 'invalid_link' };
    }
    let mfa = account.mfa;
    let secondFactor: 'totp' | 'recovery_code' | null = null;
    if (mfa) {
      if (!proof) return { kind: 'second_factor_required', uid: account.id };
      const proven = proveSecondFactor(mfa, secrets, account.id, proof);
      if (!proven.ok) return { kind: 'second_factor_refused', uid: account.id, reason: proven.reason };
      mfa = proven.mfa;
      secondFactor = proven.method;
    }
    const now = new Date().toISOString();
    // Following the link proved the mailbox, as a confirmation link would have.
    const emailVerifiedAt = account.emailVerifiedAt ?? now;
    tx.update(USERS, account.id, { passwordHash, mfa, emailVerifiedAt, updatedAt: now });
    found.spend();
    return { kind: 'reset', account: { ...account, passwordHash, mfa, emailVerifiedAt, updatedAt: now }, secondFactor };
  });
}
