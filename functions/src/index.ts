/**
 * The Cloud Functions entry point: `auth`, `items` and `uploads` as v2 HTTPS functions, and
 * `reconcile` and `retryMail`, scheduled (uploads/reconcile.ts, mail/retries.ts).
 *
 * Each export loads its pipeline on its first request, so deploying three functions from one
 * codebase does not make every instance pay for the others' code, and config errors surface
 * as a failed request with a clear log line instead of a crash loop. The same handlers answer
 * under the function's own URL and under Hosting rewrites (`/items/**` → items).
 *
 * firebase-functions declares the functions (deploy/declare.ts) for whoever reads the
 * declarations: `firebase deploy` and the emulator's discovery. An instance the platform starts
 * to serve one HTTP function (Cloud Run and the Functions emulator name it in FUNCTION_TARGET,
 * and the signature type, if given, is http) calls the export as a plain (req, res) handler, which is
 * what onRequest's wrapper would call after its error handler, trace context and CORS (off
 * here: the pipeline's) — so such an instance skips firebase-functions altogether.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RequestHandler } from './app.ts';
import { ApiError } from './errors/api-error.ts';
import { errorBody, headersFor } from './pipeline/error-mapper.ts';
import { CACHE_CONTROL, sendJson } from './pipeline/respond.ts';
import type { FunctionName, Route } from './pipeline/route.ts';

/** Each function's routes, loaded with its pipeline: a function never loads the others' code. */
const ROUTES: Record<FunctionName, () => Promise<readonly Route[]>> = {
  // auth also serves the OpenAPI document, which loads every function's routes when first asked.
  auth: async () => {
    const [{ routes }, { openApiRoute }] = await Promise.all([import('./auth/routes.ts'), import('./docs/routes.ts')]);
    return [openApiRoute, ...routes];
  },
  items: async () => (await import('./items/routes.ts')).routes,
  uploads: async () => (await import('./uploads/routes.ts')).routes,
};

function lazily(name: FunctionName): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  let handler: Promise<RequestHandler> | undefined;
  return async (req, res) => {
    // Express (which hosts the function on Cloud Functions and in the emulator) announces itself.
    res.removeHeader('X-Powered-By');
    handler ??= (async () => {
      const [{ createFunctionHandler }, { getRuntime }, routes] = await Promise.all([import('./app.ts'), import('./runtime.ts'), ROUTES[name]()]);
      return createFunctionHandler(name, await getRuntime(), routes);
    })();
    try {
      await (
        await handler
      )(req, res);
    } catch (error) {
      handler = undefined; // let the next request retry start-up
      const requestId = randomUUID();
      console.error(JSON.stringify({ severity: 'CRITICAL', message: 'function failed to start', function: name, requestId, error: String(error) }));
      if (!res.headersSent) {
        const unavailable = new ApiError('unavailable', { cause: error });
        sendJson(res, unavailable.status, errorBody(unavailable.code, unavailable.message, requestId), { 'Cache-Control': CACHE_CONTROL, ...headersFor(unavailable) });
      }
    }
  };
}

/** The HTTP function the platform started this instance for, or null (discovery, the scheduled functions, tests). */
function servedFunction(env: NodeJS.ProcessEnv): FunctionName | null {
  const discovering = env.FUNCTIONS_CONTROL_API === 'true' || Boolean(env.FUNCTIONS_MANIFEST_OUTPUT_PATH);
  const target = env.FUNCTION_TARGET;
  // firebase deploy sets FUNCTION_TARGET itself (firebase-tools' gcp/cloudfunctionsv2.js); Cloud Run adds the signature type.
  const http = env.FUNCTION_SIGNATURE_TYPE === undefined || env.FUNCTION_SIGNATURE_TYPE === 'http';
  if (discovering || !http || !target || !Object.hasOwn(ROUTES, target)) return null;
  return target as FunctionName;
}

/** Hourly: removes upload blobs no document names. A failure is thrown, so the run shows as failed. */
async function reconcileRun(): Promise<void> {
  const [{ reconcileUploads }, { getRuntime }] = await Promise.all([import('./uploads/reconcile.ts'), import('./runtime.ts')]);
  const { store, blobs, logger } = await getRuntime();
  await reconcileUploads({ store, blobs, logger });
}

/** Every five minutes: hands over the mail a server would not take at once (mail/mailer.ts). */
async function retryMailRun(): Promise<void> {
  const { getRuntime } = await import('./runtime.ts');
  const runtime = await getRuntime();
  const report = await (await runtime.mailer()).retryDue(100);
  runtime.logger.info('mail retries', { event: 'mail.retries', ...report });
}

/**
 * deploy/declare.ts, loaded synchronously: the exports must be set when this module is, and a
 * top-level await would stop the Functions emulator's runtime, which loads the entry with
 * require() (an ES module without one, Node ≥ 22.12). Its extension is this file's: .ts in
 * src/, .js in lib/.
 */
function loadDeclarations(): typeof import('./deploy/declare.ts') {
  return createRequire(import.meta.url)(`./deploy/declare${extname(fileURLToPath(import.meta.url))}`) as typeof import('./deploy/declare.ts');
}

const declared = servedFunction(process.env) ? undefined : loadDeclarations().declareFunctions({ http: lazily, reconcile: reconcileRun, retryMail: retryMailRun });

export const auth = declared?.auth ?? lazily('auth');
export const items = declared?.items ?? lazily('items');
export const uploads = declared?.uploads ?? lazily('uploads');
/** Declared for deploy and discovery; an instance serving an HTTP function has none. */
export const reconcile = declared?.reconcile;
export const retryMail = declared?.retryMail;
