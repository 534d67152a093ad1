/**
 * Accounts on the document-store port: `users/{uid}` holds the account, `userEmails/{key}` maps
 * an email to its uid, so an email is taken at most once (both are created in one transaction).
 * The key is a hash of the email, so ids never carry the address itself.
 */
import { createHash } from 'node:crypto';
import type { Role } from '../config/index.ts';
import { newDocumentId } from '../store/ids.ts';
import type { DocumentStore, JsonValue, Transaction } from '../store/port.ts';
import type { MfaState, PendingMfa } from './mfa.ts';

export const USERS = 'users';
export const USER_EMAILS = 'userEmails';

export interface UserDocument {
  [field: string]: JsonValue;
  email: string;
  passwordHash: string;
  roles: Role[];
  createdAt: string;
  updatedAt: string;
  /** Set once TOTP is activated. */
  mfa: MfaState | null;
  /** A secret handed out by enroll, waiting for its first code. */
  mfaPending: PendingMfa | null;
}

export interface Account extends UserDocument {
  id: string;
}

export function emailKey(email: string): string {
  return createHash('sha256').update(email).digest('hex');
}

/** Creates the account, or returns null when the email is taken. */
export async function createAccount(store: DocumentStore, email: string, passwordHash: string): Promise<Account | null> {
  const now = new Date().toISOString();
  const id = newDocumentId();
  const user: UserDocument = { email, passwordHash, roles: ['user'], createdAt: now, updatedAt: now, mfa: null, mfaPending: null };
  return store.runTransaction(async (tx) => {
    if (await tx.get(USER_EMAILS, emailKey(email))) return null;
    tx.create(USER_EMAILS, emailKey(email), { uid: id });
    tx.create(USERS, id, user);
    return { id, ...user };
  });
}

export async function findAccountByEmail(store: DocumentStore, email: string): Promise<Account | null> {
  const link = await store.get<{ uid: string }>(USER_EMAILS, emailKey(email));
  if (!link) return null;
  const user = await store.get<UserDocument>(USERS, link.uid);
  return user ? { id: link.uid, ...user } : null;
}

export async function getAccount(reader: DocumentStore | Transaction, id: string): Promise<Account | null> {
  const user = await reader.get<UserDocument>(USERS, id);
  return user ? { id, ...user } : null;
}

/** What a client may see of an account. */
export function publicAccount(account: Account) {
  return { id: account.id, email: account.email, roles: account.roles, mfaEnabled: Boolean(account.mfa), createdAt: account.createdAt };
}
