/**
 * The documentation route, GET /auth/openapi.json, and the order the documents list every
 * route in. The auth function serves it (its entry, index.ts, adds it to auth's own routes);
 * the document covers every function, so the handler loads their routes when first asked.
 * No function's routes import this module, and routes.ts (the full list) imports it: no cycle.
 */
import type { FunctionName, Route } from '../pipeline/route.ts';
import { defineRoute } from '../pipeline/route.ts';
import { openApi } from './handlers.ts';
import { openApiDocumentResponse } from './openapi.ts';

export const openApiRoute: Route = defineRoute({
  id: 'auth.openapi',
  function: 'auth',
  method: 'GET',
  // Also at /openapi.json (a Hosting rewrite, and the local server).
  path: '/auth/openapi.json',
  summary: 'This document: the API contract, OpenAPI 3.1',
  // Read by people and client generators, which hold no App Check token.
  appCheck: { mode: 'off' },
  access: { public: true },
  rateLimit: ['api'],
  success: { status: 200, description: 'The OpenAPI document', body: openApiDocumentResponse },
  handler: openApi(async () => {
    const [auth, items, uploads] = await Promise.all([import('../auth/routes.ts'), import('../items/routes.ts'), import('../uploads/routes.ts')]);
    return everyRoute({ auth: auth.routes, items: items.routes, uploads: uploads.routes });
  }),
});

/** Every route, in the documents' order: items, uploads, then auth's (this route first). */
export function everyRoute(byFunction: Readonly<Record<FunctionName, readonly Route[]>>): readonly Route[] {
  return [...byFunction.items, ...byFunction.uploads, openApiRoute, ...byFunction.auth];
}
