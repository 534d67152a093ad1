/**
 * Email verification. Registration mails a link (link-tokens.ts: single use, 24 hours); the
 * account may sign in and read meanwhile, and what else it may do is the route table's to say
 * (`allowUnverified`, pipeline/authorize.ts). Following the link marks the address verified —
 * in one transaction with spending the link, and only while the account still has the address
 * the link was mailed to. A signed-in account that lost its mail asks for another link.
 */
import type { DocumentStore } from '../store/port.ts';
import { USERS, getAccount, type Account } from './accounts.ts';
import { findLinkToken, type LinkKind } from './link-tokens.ts';

export const EMAIL_VERIFICATION: LinkKind = { collection: 'emailVerifications', lifetimeMs: 24 * 3_600_000 };

/** Where a verification link leads: the web app's screen, the token in the fragment (never sent to a server, so in no access log). */
export function verificationLink(appUrl: string, token: string): string {
  return `${appUrl}/#/verify-email?token=${token}`;
}

export type Confirmation = { kind: 'verified'; account: Account } | { kind: 'invalid' };

/** Spends the link and verifies the account's address; `invalid` for an unknown, spent or expired link, or one for an address the account no longer has. */
export async function confirmEmail(store: DocumentStore, token: string): Promise<Confirmation> {
  return store.runTransaction(async (tx) => {
    const found = await findLinkToken(tx, EMAIL_VERIFICATION, token);
    if (!found) return { kind: 'invalid' as const };
    const account = await getAccount(tx, found.link.uid);
    found.spend();
    if (!account || account.email !== found.link.email) return { kind: 'invalid' as const };
    if (account.emailVerifiedAt !== null) return { kind: 'verified' as const, account };
    const now = new Date().toISOString();
    tx.update(USERS, account.id, { emailVerifiedAt: now, updatedAt: now });
    return { kind: 'verified' as const, account: { ...account, emailVerifiedAt: now, updatedAt: now } };
  });
}
