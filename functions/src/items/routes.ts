/**
 * The items function's routes, with their whole policy: method and path, who may call them
 * (roles, and which of them need an MFA step-up), the rate-limit buckets they draw from (the
 * per-IP `global` bucket always applies), the zod schemas of their input, and what they answer.
 * Only the items function loads this list (index.ts); the documents get it from routes.ts.
 */
import { READERS, WRITERS, defineRoute, type Route } from '../pipeline/route.ts';
import * as items from './handlers.ts';
import { createItemBody, itemPageResponse, itemParams, itemResponse, listItemsQuery, updateItemBody } from './schemas.ts';

export const routes: readonly Route[] = [
  defineRoute({
    id: 'items.list',
    function: 'items',
    method: 'GET',
    path: '/items',
    summary: "List your items, newest first (admins: scope=all for everyone's)",
    access: { roles: READERS, allowUnverified: true },
    rateLimit: ['api'],
    query: listItemsQuery,
    success: { status: 200, description: 'A page of items', body: itemPageResponse },
    handler: items.listItems,
  }),
  defineRoute({
    id: 'items.create',
    function: 'items',
    method: 'POST',
    path: '/items',
    summary: 'Create an item you own',
    access: { roles: WRITERS },
    rateLimit: ['api', 'create'],
    body: createItemBody,
    success: { status: 201, description: 'The item, as stored', body: itemResponse },
    handler: items.createItem,
  }),
  defineRoute({
    id: 'items.get',
    function: 'items',
    method: 'GET',
    path: '/items/:id',
    summary: "Read one of your items (admins: anyone's)",
    access: { roles: READERS, allowUnverified: true },
    rateLimit: ['api'],
    params: itemParams,
    success: { status: 200, description: 'The item', body: itemResponse },
    failures: [404],
    handler: items.getItem,
  }),
  defineRoute({
    id: 'items.update',
    function: 'items',
    method: 'PATCH',
    path: '/items/:id',
    summary: 'Change the name or description of one of your items',
    // Acting on other people's items as admin needs a step-up; without it an admin acts as a user.
    access: { roles: WRITERS, mfa: ['admin'] },
    rateLimit: ['api'],
    params: itemParams,
    body: updateItemBody,
    success: { status: 200, description: 'The item, as changed', body: itemResponse },
    failures: [404],
    handler: items.updateItem,
  }),
  defineRoute({
    id: 'items.delete',
    function: 'items',
    method: 'DELETE',
    path: '/items/:id',
    summary: 'Delete one of your items',
    access: { roles: WRITERS, mfa: ['admin'] },
    rateLimit: ['api'],
    params: itemParams,
    success: { status: 204, description: 'Deleted' },
    failures: [404],
    handler: items.deleteItem,
  }),
];
