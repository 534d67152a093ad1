/** The generated documents, as `npm run docs` writes them: at the default configuration. */
import { DEFAULT_APP_CHECK_MODES, DEFAULT_RATE_LIMITS, DEFAULT_SESSION_COOKIE_NAME } from '../config/index.ts';
import { routes } from '../routes.ts';
import { API_VERSION, openApiDocument, type OpenApiOptions } from './openapi.ts';
import { securityMatrix } from './security-matrix.ts';


/** The configuration's defaults, which the committed documents describe. */
export const DEFAULT_DOC_OPTIONS: OpenApiOptions = {
  version: API_VERSION,
  rateLimits: DEFAULT_RATE_LIMITS,
  sessionCookieName: DEFAULT_SESSION_COOKIE_NAME,
  appCheckModes: DEFAULT_APP_CHECK_MODES,
  firebaseAuth: false,
};

export function generatedDocs(): Record<'openapi.json' | 'security-matrix.md', string> {
  return {
    'openapi.json': `${JSON.stringify(openApiDocument(routes, DEFAULT_DOC_OPTIONS), null, 2)}\n`,
    'security-matrix.md': securityMatrix(routes, DEFAULT_DOC_OPTIONS.rateLimits),
  };
}
