/**
 * Every route of every function, in one list: the OpenAPI document and docs/security-matrix.md
 * are generated from it, and the local server (app.ts, createLocalHandler) serves it. The
 * routes themselves, each with its whole policy, are declared per function (auth/routes.ts,
 * items/routes.ts, uploads/routes.ts, and docs/routes.ts for the document). A deployed function
 * never imports this module: its entry (index.ts) loads only its own routes.
 */
import { routes as auth } from './auth/routes.ts';
import { everyRoute } from './docs/routes.ts';
import { routes as items } from './items/routes.ts';
import type { Route } from './pipeline/route.ts';
import { routes as uploads } from './uploads/routes.ts';

export const routes: readonly Route[] = everyRoute({ auth, items, uploads });
