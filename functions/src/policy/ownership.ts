/**
 * Documents that belong to one owner (items, uploads): a user sees their own, an admin
 * everyone's. Listing is newest first, with `scope=all` for admins only.
 */
import { z } from 'zod';
import type { Principal } from '../pipeline/inputs.ts';
import { ApiError } from '../errors/api-error.ts';
import type { DocumentData, DocumentStore, Page } from '../store/port.ts';

export interface Owned {
  ownerId: string;
  createdAt: string;
}

/** The query of a listing route. */
export const listOwnedQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
  /** `all` is for admins: every owner's documents. */
  scope: z.enum(['own', 'all']).default('own'),
});

export type ListOwnedQuery = z.output<typeof listOwnedQuery>;

export const isAdmin = (principal: Principal): boolean => principal.roles.includes('admin');

export const mayAccess = (principal: Principal, document: Owned): boolean => isAdmin(principal) || document.ownerId === principal.subject;

/** A page of `collection`, newest first: the caller's documents, or with `scope=all` (admins) everyone's. */
export async function listOwned<T extends DocumentData & Owned>(store: DocumentStore, collection: string, principal: Principal, query: ListOwnedQuery): Promise<Page<T>> {
  if (query.scope === 'all' && !isAdmin(principal)) throw new ApiError('forbidden', { params: { action: `listing every owner's ${collection}` } });
  return store.query<T>(collection, {
    where: query.scope === 'all' ? {} : { ownerId: principal.subject },
    orderBy: { field: 'createdAt', direction: 'desc' },
    limit: query.limit,
    cursor: query.cursor,
  });
}
