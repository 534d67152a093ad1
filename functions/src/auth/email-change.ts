/**
 * Changing the account's address. Asking mails the new address a link (link-tokens.ts: single
 * use, 24 hours), or, when the new address has an account of its own, a notice instead, and
 * the answer is the same either way. Following the link moves the account to the new address in
 * one transaction — the address index (`userEmails`) and the account — and only while the
 * account still has the address it had when it asked, and the new one is still free. The new
 * address is verified by the link itself. The caller then tells the old address.
 */
import type { DocumentStore } from '../store/port.ts';
import { USERS, USER_EMAILS, emailKey, getAccount, type Account } from './accounts.ts';
import { findLinkToken, type LinkKind } from './link-tokens.ts';

export const EMAIL_CHANGE: LinkKind = { collection: 'emailChanges', lifetimeMs: 24 * 3_600_000 };

/** The link's own field: where the account moves. */
export const NEW_EMAIL = 'newEmail';

/** Where an email-change link leads: the web app's screen, the token in the fragment. */
export function emailChangeLink(appUrl: string, token: string): string {
  return `${appUrl}/#/confirm-email?token=${token}`;
}

export type EmailChangeOutcome =
  | { kind: 'changed'; account: Account; previousEmail: string }
  | { kind: 'invalid' }
  /** Someone took the new address between the asking and the link. */
  | { kind: 'taken' };

export async function confirmEmailChange(store: DocumentStore, token: string): Promise<EmailChangeOutcome> {
  return store.runTransaction(async (tx): Promise<EmailChangeOutcome> => {
    const found = await findLinkToken(tx, EMAIL_CHANGE, token);
    if (!found) return { kind: 'invalid' };
    const newEmail = found.link[NEW_EMAIL];
    const account = await getAccount(tx, found.link.uid);
    const taken = typeof newEmail === 'string' ? await tx.get(USER_EMAILS, emailKey(newEmail)) : null;
    found.spend();
    if (typeof newEmail !== 'string' || !account || account.email !== found.link.email) return { kind: 'invalid' };
    if (taken) return { kind: 'taken' };
    const now = new Date().toISOString();
    tx.delete(USER_EMAILS, emailKey(account.email));
    tx.create(USER_EMAILS, emailKey(newEmail), { uid: account.id });
    tx.update(USERS, account.id, { email: newEmail, emailVerifiedAt: now, updatedAt: now });
    return { kind: 'changed', account: { ...account, email: newEmail, emailVerifiedAt: now, updatedAt: now }, previousEmail: account.email };
  });
}
