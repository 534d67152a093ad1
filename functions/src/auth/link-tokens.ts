/**
 * The secrets in the links bastion mails (verify an address, reset a password): 32 random bytes,
 * base64url, of which only the SHA-256 is stored, as the document id, so a copy of the store
 * holds no usable link. Each kind lives in its own collection and expires with the link
 * (`expiresAt`, removed by Firestore's TTL); spending one deletes it in the transaction that
 * acts on it, so it works once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { EXPIRES_AT, type Transaction } from '../store/port.ts';

export interface LinkKind {
  collection: string;
  lifetimeMs: number;
}

export interface LinkDocument {
  [field: string]: string | number;
  uid: string;
  /** The account's address when the link was made: a link for an address the account no longer has does nothing. */
  email: string;
  createdAt: string;
  expiresAt: number;
}

/** The id a link token is stored under. */
export const linkTokenId = (token: string) => createHash('sha256').update(token).digest('hex');

/** A new link token for `uid` at `email` (with what else the link acts on), written in `tx`; the token goes in the mail, and nowhere else. */
export function createLinkToken(tx: Transaction, kind: LinkKind, uid: string, email: string, extra: Record<string, string> = {}, now = Date.now()): string {
  const token = randomBytes(32).toString('base64url');
  const document: LinkDocument = { ...extra, uid, email, createdAt: new Date(now).toISOString(), [EXPIRES_AT]: now + kind.lifetimeMs };
  tx.create(kind.collection, linkTokenId(token), document);
  return token;
}

export interface FoundLink {
  link: LinkDocument;
  /** Deletes it in the transaction: call it once the transaction's reads are done (Firestore reads before it writes). */
  spend(): void;
}

/** The live link a token names, or null. Used or not once found, it should be spent. */
export async function findLinkToken(tx: Transaction, kind: LinkKind, token: string, now = Date.now()): Promise<FoundLink | null> {
  const id = linkTokenId(token);
  const link = await tx.get<LinkDocument>(kind.collection, id);
  if (!link || link.expiresAt <= now) return null;
  return { link, spend: () => tx.delete(kind.collection, id) };
}
