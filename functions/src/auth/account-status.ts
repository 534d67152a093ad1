/**
 * Disabling and enabling an account (admins). A disabled account keeps its data but cannot act:
 * its sessions end when it is disabled, and sign-in and refresh refuse it from the moment the
 * flag is written (both read the account in the transaction that would start or continue a
 * session, so a sign-in racing the disabling either ends with it or is refused). An access token
 * issued before lives out its short lifetime on the routes that do not read the account, as a
 * Firebase ID token does after its user is disabled.
 *
 * A disabled admin does not count as one (auth/roles.ts): disabling the last admin who can act is
 * refused, so the API never locks its admins out.
 */
import type { DocumentStore } from '../store/port.ts';
import { USERS, accountOf, type Account, type UserDocument } from './accounts.ts';
import { countAdmins, countsAsAdmin } from './roles.ts';
import { endOtherSessions } from './sessions.ts';

export interface StatusChange {
  account: Account;
  /** False when the account already was as asked: nothing was written. */
  changed: boolean;
}

async function setDisabled(store: DocumentStore, uid: string, disabled: boolean): Promise<StatusChange | null> {
  return store.runTransaction(async (tx) => {
    const user = await tx.get<UserDocument>(USERS, uid);
    if (!user) return null;
    const account = accountOf(uid, user);
    if (account.disabled === disabled) return { account, changed: false };
    const now = new Date().toISOString();
    const next = { ...account, disabled, disabledAt: disabled ? now : null, updatedAt: now };
    if (account.roles.includes('admin')) await countAdmins(tx, Number(countsAsAdmin(next)) - Number(countsAsAdmin(account)));
    tx.update(USERS, uid, { disabled, disabledAt: next.disabledAt, updatedAt: now });
    return { account: next, changed: true };
  });
}

/** Disables the account and ends every session it has; null when there is no such account. */
export async function disableAccount(store: DocumentStore, uid: string): Promise<(StatusChange & { sessionsEnded: number }) | null> {
  const change = await setDisabled(store, uid, true);
  if (!change) return null;
  // Also when it was disabled already: ending sessions is safe to repeat.
  return { ...change, sessionsEnded: await endOtherSessions(store, uid, undefined) };
}

/** Lets the account sign in again (its ended sessions stay ended); null when there is no such account. */
export function enableAccount(store: DocumentStore, uid: string): Promise<StatusChange | null> {
  return setDisabled(store, uid, false);
}
