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
  /** When the owner followed a verification link (auth/email-verification.ts); null until then. */
  emailVerifiedAt: string | null;
  /** Set once TOTP is activated. */
  mfa: MfaState | null;
  /** A secret handed out by enroll, waiting for its first code. */
  mfaPending: PendingMfa | null;
  /** Set by an admin (auth/account-status.ts): no sign-in, no refresh. A field of its own, so admins can list disabled accounts. */
  disabled: boolean;
  /** When it was disabled; null while it is not. */
  disabledAt: string | null;
}

export interface Account extends UserDocument {
  id: string;
}

export function emailKey(email: string): string {
  return createHash('sha256').update(email).digest('hex');
}

export interface NewAccountOptions {
  /** Verified from the start: the operator vouches for the address (`npm run admin`). */
  emailVerified?: boolean;
  /** More writes in the transaction that creates the account (its verification link). */
  alsoWrite?: (tx: Transaction, account: Account) => void;
}

/** Creates the account, or returns null when the email is taken. */
export async function createAccount(store: DocumentStore, email: string, passwordHash: string, options: NewAccountOptions = {}): Promise<Account | null> {
  const now = new Date().toISOString();
  const id = newDocumentId();
  const user: UserDocument = {
    email,
    passwordHash,
    roles: ['user'],
    createdAt: now,
    updatedAt: now,
    emailVerifiedAt: options.emailVerified ? now : null,
    mfa: null,
    mfaPending: null,
    disabled: false,
    disabledAt: null,
  };
  return store.runTransaction(async (tx) => {
    if (await tx.get(USER_EMAILS, emailKey(email))) return null;
    tx.create(USER_EMAILS, emailKey(email), { uid: id });
    tx.create(USERS, id, user);
    const account = { id, ...user };
    options.alsoWrite?.(tx, account);
    return account;
  });
}

export async function findAccountByEmail(store: DocumentStore, email: string): Promise<Account | null> {
  const link = await store.get<{ uid: string }>(USER_EMAILS, emailKey(email));
  if (!link) return null;
  return getAccount(store, link.uid);
}

export async function getAccount(reader: DocumentStore | Transaction, id: string): Promise<Account | null> {
  const user = await reader.get<UserDocument>(USERS, id);
  return user ? accountOf(id, user) : null;
}

/**
 * An account from its stored document. Accounts made before verification existed have no
 * `emailVerifiedAt` (unverified until confirmed), those made before admins could disable
 * accounts no `disabled` (enabled).
 */
export function accountOf(id: string, user: UserDocument): Account {
  return { id, ...user, emailVerifiedAt: user.emailVerifiedAt ?? null, disabled: user.disabled ?? false, disabledAt: user.disabledAt ?? null };
}

/** A page of accounts, newest first: every one, or only the disabled ones (an index of its own: firestore.indexes.json). */
export async function listAccounts(
  store: DocumentStore,
  { disabledOnly, limit, cursor }: { disabledOnly: boolean; limit: number; cursor?: string | undefined },
): Promise<{ accounts: Account[]; nextCursor: string | null }> {
  const page = await store.query<UserDocument>(USERS, { where: disabledOnly ? { disabled: true } : {}, orderBy: { field: 'createdAt', direction: 'desc' }, limit, cursor });
  return { accounts: page.documents.map(({ id, data }) => accountOf(id, data)), nextCursor: page.nextCursor };
}

/** What a client may see of an account. */
export function publicAccount(account: Account) {
  return {
    id: account.id,
    email: account.email,
    emailVerified: account.emailVerifiedAt !== null,
    roles: account.roles,
    mfaEnabled: Boolean(account.mfa),
    createdAt: account.createdAt,
  };
}

/** What an admin sees of an account: what its owner sees, and whether it is disabled. */
export function adminView(account: Account) {
  return { ...publicAccount(account), disabled: account.disabled, disabledAt: account.disabledAt, updatedAt: account.updatedAt };
}
