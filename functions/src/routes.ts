/**
 * Every route of every function, with its whole policy, in one place: method and path, who
 * may call it (roles, and which of them need an MFA step-up), the rate-limit buckets it draws
 * from (the per-IP `global` bucket always applies), and the zod schemas of its input.
 */
import * as items from './items/handlers.ts';
import { createItemBody, itemParams, listItemsQuery, updateItemBody } from './items/schemas.ts';
import * as auth from './auth/handlers.ts';
import { loginBody, refreshBody, registerBody, setRolesBody, userParams } from './auth/schemas.ts';
import { defineRoute, type Route } from './pipeline/route.ts';

const readers = ['viewer', 'user', 'admin'] as const;
const writers = ['user', 'admin'] as const;

export const routes: readonly Route[] = [
  defineRoute({
    id: 'items.list',
    function: 'items',
    method: 'GET',
    path: '/items',
    summary: 'List your items, newest first (admins: scope=all for everyone\'s)',
    access: { roles: readers },
    rateLimit: ['api'],
    query: listItemsQuery,
    handler: items.listItems,
  }),
  defineRoute({
    id: 'items.create',
    function: 'items',
    method: 'POST',
    path: '/items',
    summary: 'Create an item you own',
    access: { roles: writers },
    rateLimit: ['api', 'create'],
    body: createItemBody,
    handler: items.createItem,
  }),
  defineRoute({
    id: 'items.get',
    function: 'items',
    method: 'GET',
    path: '/items/:id',
    summary: 'Read one of your items (admins: anyone\'s)',
    access: { roles: readers },
    rateLimit: ['api'],
    params: itemParams,
    handler: items.getItem,
  }),
  defineRoute({
    id: 'items.update',
    function: 'items',
    method: 'PATCH',
    path: '/items/:id',
    summary: 'Change the name or description of one of your items',
    // Acting on other people's items as admin needs a step-up; without it an admin acts as a user.
    access: { roles: writers, mfa: ['admin'] },
    rateLimit: ['api'],
    params: itemParams,
    body: updateItemBody,
    handler: items.updateItem,
  }),
  defineRoute({
    id: 'items.delete',
    function: 'items',
    method: 'DELETE',
    path: '/items/:id',
    summary: 'Delete one of your items',
    access: { roles: writers, mfa: ['admin'] },
    rateLimit: ['api'],
    params: itemParams,
    handler: items.deleteItem,
  }),
  defineRoute({
    id: 'auth.jwks',
    function: 'auth',
    method: 'GET',
    path: '/auth/.well-known/jwks.json',
    summary: 'Public keys that verify access tokens (current and previous)',
    access: { public: true },
    rateLimit: [],
    handler: auth.jwks,
  }),
  defineRoute({
    id: 'auth.register',
    function: 'auth',
    method: 'POST',
    path: '/auth/register',
    summary: 'Create an account (role user) with an email and a strong password',
    access: { public: true },
    rateLimit: ['create'],
    body: registerBody,
    handler: auth.register,
  }),
  defineRoute({
    id: 'auth.login',
    function: 'auth',
    method: 'POST',
    path: '/auth/login',
    summary: 'Sign in with email and password: an access token and a refresh token',
    access: { public: true },
    rateLimit: ['api'],
    body: loginBody,
    handler: auth.login,
  }),
  defineRoute({
    id: 'auth.refresh',
    function: 'auth',
    method: 'POST',
    path: '/auth/refresh',
    summary: 'Trade a refresh token for a new pair (the old refresh token is spent)',
    access: { public: true },
    rateLimit: ['api'],
    body: refreshBody,
    handler: auth.refresh,
  }),
  defineRoute({
    id: 'auth.logout',
    function: 'auth',
    method: 'POST',
    path: '/auth/logout',
    summary: 'End the session a refresh token belongs to',
    access: { public: true },
    rateLimit: ['api'],
    body: refreshBody,
    handler: auth.logout,
  }),
  defineRoute({
    id: 'auth.me',
    function: 'auth',
    method: 'GET',
    path: '/auth/me',
    summary: 'The signed-in account',
    access: { roles: readers },
    rateLimit: ['api'],
    handler: auth.me,
  }),
  defineRoute({
    id: 'auth.setRoles',
    function: 'auth',
    method: 'PUT',
    path: '/auth/users/:uid/roles',
    summary: 'Set the roles of an account (admins, within 15 minutes of an MFA sign-in); takes effect on its next refresh',
    access: { roles: ['admin'], mfa: ['admin'] },
    rateLimit: ['api'],
    params: userParams,
    body: setRolesBody,
    handler: auth.changeRoles,
  }),
];
