/**
 * What an account is made of, everywhere the functions keep it: for exporting it (the account
 * without its secrets, its items, its uploads' metadata, its sessions) and for deleting it, so
 * that nothing of it remains. Deletion goes from the outside in — sessions first (nothing goes on
 * signed in), then uploads (blob, then document), items, the rest of its auth documents, the mail
 * still queued for it — and the account and its address last, in one transaction: a deletion
 * that fails midway (a store or a bucket down) leaves an account its owner can sign in to and
 * delete again, and every step finds what is left.
 */
import type { BlobStore } from '../blobs/port.ts';
import { ApiError } from '../errors/api-error.ts';
import { MAIL_QUEUE } from '../mail/mailer.ts';
import { ITEMS, OWNER_FIELD, UPLOADS, UPLOAD_QUOTAS, ownerSegment } from '../policy/owned-data.ts';
import { queryAll, type DocumentStore } from '../store/port.ts';
import { USERS, USER_EMAILS, accountOf, emailKey, publicAccount, type Account, type UserDocument } from './accounts.ts';
import { MFA_CHALLENGES } from './challenges.ts';
import { EMAIL_CHANGE } from './email-change.ts';
import { EMAIL_VERIFICATION } from './email-verification.ts';
import { PASSWORD_RESET } from './password-reset.ts';
import { ADMIN_COUNTER, COUNTERS, countAdmins, countsAsAdmin } from './roles.ts';
import { REFRESH_TOKENS, TOKEN_FAMILIES, endOtherSessions, listSessions } from './sessions.ts';

/** The account's own documents in the auth collections, by the field that names it. */
const AUTH_DOCUMENTS = [
  { collection: TOKEN_FAMILIES, field: 'uid' },
  { collection: REFRESH_TOKENS, field: 'uid' },
  { collection: MFA_CHALLENGES, field: 'uid' },
  { collection: EMAIL_VERIFICATION.collection, field: 'uid' },
  { collection: PASSWORD_RESET.collection, field: 'uid' },
  { collection: EMAIL_CHANGE.collection, field: 'uid' },
] as const;

/** The account's data as JSON: no password hash, no MFA secret or recovery codes, no blob locations. */
export async function exportAccount(store: DocumentStore, account: Account) {
  const [items, uploads, sessions] = await Promise.all([
    queryAll(store, ITEMS, { [OWNER_FIELD]: account.id }),
    queryAll(store, UPLOADS, { [OWNER_FIELD]: account.id }),
    listSessions(store, account.id),
  ]);
  return {
    exportedAt: new Date().toISOString(),
    account: { ...publicAccount(account), updatedAt: account.updatedAt },
    items: items.map(({ id, data }) => ({ id, ...data })),
    uploads: uploads.map(({ id, data: { blobKey: _, ...shown } }) => ({ id, ...shown })),
    sessions,
  };
}

export interface DeletionReport {
  uploads: number;
  items: number;
  sessions: number;
  documents: number;
}

/**
 * Deletes the account and everything it owns; refuses (ApiError last_admin) to delete the last
 * admin. The mail queued for its address goes too; the mail collection of Firebase's Trigger
 * Email extension is the extension's record of what it delivered, and stays the extension's.
 */
export async function deleteAccount(store: DocumentStore, blobs: BlobStore, account: Account): Promise<DeletionReport> {
  const report: DeletionReport = { uploads: 0, items: 0, sessions: 0, documents: 0 };
  // An admin is counted out in the last transaction; the last one is refused before anything goes.
  const admins = countsAsAdmin(account) ? ((await store.get<{ count: number }>(COUNTERS, ADMIN_COUNTER))?.count ?? 0) : Infinity;
  if (admins <= 1) throw new ApiError('last_admin');
  report.sessions = await endOtherSessions(store, account.id, undefined);
  for (const { id, data } of await queryAll(store, UPLOADS, { [OWNER_FIELD]: account.id })) {
    if (typeof data.blobKey === 'string') await blobs.delete(data.blobKey);
    await store.delete(UPLOADS, id);
    report.uploads += 1;
  }
  await store.delete(UPLOAD_QUOTAS, ownerSegment(account.id));
  for (const { id } of await queryAll(store, ITEMS, { [OWNER_FIELD]: account.id })) {
    await store.delete(ITEMS, id);
    report.items += 1;
  }
  for (const { collection, field } of AUTH_DOCUMENTS) {
    for (const { id } of await queryAll(store, collection, { [field]: account.id })) {
      await store.delete(collection, id);
      report.documents += 1;
    }
  }
  for (const { id } of await queryAll(store, MAIL_QUEUE, { to: account.email })) {
    await store.delete(MAIL_QUEUE, id);
    report.documents += 1;
  }
  await store.runTransaction(async (tx) => {
    const user = await tx.get<UserDocument>(USERS, account.id);
    if (!user) return; // a deletion that raced this one finished first
    if (countsAsAdmin(accountOf(account.id, user))) await countAdmins(tx, -1);
    tx.delete(USERS, account.id);
    tx.delete(USER_EMAILS, emailKey(account.email));
  });
  return report;
}
