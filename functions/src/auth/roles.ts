/**
 * Changing an account's roles. The number of admins who can act — admin accounts that are not
 * disabled — is kept in a counter document updated in the same transaction as the account, so
 * "never remove the last admin" holds even when two admins demote or disable each other at the
 * same moment.
 */
import type { Role } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import type { DocumentStore, Transaction } from '../store/port.ts';
import { USERS, accountOf, type Account, type UserDocument } from './accounts.ts';

export const COUNTERS = 'counters';
export const ADMIN_COUNTER = 'admins';

export interface RoleChange {
  account: Account;
  from: Role[];
  to: Role[];
}

/** Within a transaction: counts an account that becomes (+1) or stops being (−1) an admin who can act. */
export async function countAdmins(tx: Transaction, delta: number): Promise<void> {
  const counter = await tx.get<{ count: number }>(COUNTERS, ADMIN_COUNTER);
  const count = counter?.count ?? 0;
  if (count + delta < 1 && delta < 0) {
    throw new ApiError('last_admin');
  }
  if (delta !== 0) tx.set(COUNTERS, ADMIN_COUNTER, { count: count + delta });
}

/** Whether the account is one the admin counter counts. */
export function countsAsAdmin(account: Pick<Account, 'roles' | 'disabled'>): boolean {
  return account.roles.includes('admin') && !account.disabled;
}

/** Sets the roles of an account; null when there is no such account. */
export async function setRoles(store: DocumentStore, uid: string, roles: Role[]): Promise<RoleChange | null> {
  return store.runTransaction(async (tx) => {
    const user = await tx.get<UserDocument>(USERS, uid);
    if (!user) return null;
    const account = accountOf(uid, user);
    // A disabled admin is not counted: making it one or taking it away changes nothing there.
    if (!account.disabled) await countAdmins(tx, Number(roles.includes('admin')) - Number(user.roles.includes('admin')));
    const updatedAt = new Date().toISOString();
    tx.update(USERS, uid, { roles, updatedAt });
    return { account: { ...account, roles, updatedAt }, from: user.roles, to: roles };
  });
}
