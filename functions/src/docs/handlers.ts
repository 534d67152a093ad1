/** GET /openapi.json: the document for this deployment's configuration (its rate limits, cookie name, App Check modes). */
import type { Principal, Services } from '../pipeline/inputs.ts';
import type { HandlerInput, Reply, Route } from '../pipeline/route.ts';
import { API_VERSION, openApiDocument, type OpenApiDocument } from './openapi.ts';

/**
 * The handler, given how to load the routes it documents: every function's, which the auth
 * function that serves it does not load until the document is first asked for.
 */
export function openApi(documented: () => Promise<readonly Route[]>): (input: HandlerInput<unknown, unknown, unknown, Principal | undefined>) => Promise<Reply> {
  const built = new WeakMap<Services, OpenApiDocument>();
  return async ({ services }) => {
    let document = built.get(services);
    if (!document) {
      document = openApiDocument(await documented(), {
        version: API_VERSION,
        rateLimits: services.rateLimits,
        sessionCookieName: services.auth.sessionCookieName,
        appCheckModes: services.appCheckModes,
        firebaseAuth: services.firebaseAuth,
      });
      built.set(services, document);
    }
    return { status: 200, body: document };
  };
}
