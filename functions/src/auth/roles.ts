/**
 * Changing an account's roles. The number of admins is kept in a counter document updated in
 * the same transaction as the account, so "never remove the last admin" holds even when two
 * admins demote each other at the same moment.
 */
import type { Role } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import type { DocumentStore, Transaction } from '../store/port.ts';
import { USERS, type Account, type UserDocument } from './accounts.ts';

export const COUNTERS = 'counters';
export const ADMIN_COUNTER = 'admins';

export interface RoleChange {
  account: Account;
  from: Role[];
  to: Role[];
}

/** Within a transaction: counts an account that becomes (+1) or stops being (−1) an admin. */
export async function countAdmins(tx: Transaction, delta: number): Promise<void> {
  const counter = await tx.get<{ count: number }>(COUNTERS, ADMIN_COUNTER);
  const count = counter?.count ?? 0;
  if (count + delta < 1 && delta < 0) {
    throw new ApiError('last_admin');
  }
  if (delta !== 0) tx.set(COUNTERS, ADMIN_COUNTER, { count: count + delta });
}

/** Sets the roles of an account; null when there is no such account. */
export async function setRoles(store: DocumentStore, uid: string, roles: Role[]): Promise<RoleChange | null> {
  return store.runTransaction(async (tx) => {
    const user = await tx.get<UserDocument>(USERS, uid);
    if (!user) return null;
    const delta = Number(roles.includes('admin')) - Number(user.roles.includes('admin'));
    await countAdmins(tx, delta);
    const updatedAt = new Date().toISOString();
    tx.update(USERS, uid, { roles, updatedAt });
    return { account: { id: uid, ...user, roles, updatedAt }, from: user.roles, to: roles };
  });
}
