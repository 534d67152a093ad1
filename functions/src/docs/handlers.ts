/** GET /openapi.json: the document for this deployment's configuration (its rate limits, cookie name). */
import type { Services } from '../pipeline/context.ts';
import type { HandlerInput, Reply } from '../pipeline/route.ts';
import { API_VERSION, openApiDocument, type OpenApiDocument } from './openapi.ts';

const built = new WeakMap<Services, OpenApiDocument>();

export async function openApi({ services }: HandlerInput<unknown, unknown, unknown>): Promise<Reply> {
  let document = built.get(services);
  if (!document) {
    // routes.ts declares this very handler: load it when first asked, not at import.
    const { routes } = await import('../routes.ts');
    document = openApiDocument(routes, { version: API_VERSION, rateLimits: services.rateLimits, sessionCookieName: services.auth.sessionCookieName });
    built.set(services, document);
  }
  return { status: 200, body: document };
}
