/**
 * The Cloud Functions entry point: `auth`, `items` and `uploads` as v2 HTTPS functions, and
 * `reconcile`, scheduled, which removes upload blobs no document names (uploads/reconcile.ts).
 *
 * Each export loads its pipeline on its first request, so deploying three functions from one
 * codebase does not make every instance pay for the others' code, and config errors surface
 * as a failed request with a clear log line instead of a crash loop. The same handlers answer
 * under the function's own URL and under Hosting rewrites (`/items/**` → items).
 */
import { randomUUID } from 'node:crypto';
import { defineSecret } from 'firebase-functions/params';
import { onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/scheduler';
import type { RequestHandler } from './app.ts';
import { FUNCTION_OPTIONS, MAIL_RETRY_OPTIONS, RECONCILE_OPTIONS } from './deploy/options.ts';
import { ApiError } from './errors/api-error.ts';
import { errorBody, headersFor } from './pipeline/error-mapper.ts';
import { CACHE_CONTROL, sendJson } from './pipeline/respond.ts';
import type { FunctionName, Route } from './pipeline/route.ts';

/** JWK set of signing keys (see README, "Configuration"); set with `firebase functions:secrets:set AUTH_SIGNING_KEYS`. */
const signingKeys = defineSecret('AUTH_SIGNING_KEYS');
/** JWK set of the keys that seal TOTP secrets at rest; `firebase functions:secrets:set AUTH_TOTP_KEYS`. */
const totpKeys = defineSecret('AUTH_TOTP_KEYS');

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

function lazily(name: FunctionName): (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => Promise<void> {
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

const exported = (name: FunctionName) => onRequest({ ...FUNCTION_OPTIONS[name], secrets: [signingKeys, totpKeys] }, lazily(name));

export const auth = exported('auth');
export const items = exported('items');
export const uploads = exported('uploads');

/**
 * Hourly. It shares the HTTP functions' runtime, whose configuration wants the signing and TOTP
 * keys in production, so it is given them although it uses neither. A failure is logged and thrown, so
 * the run shows as failed.
 */
export const reconcile = onSchedule({ ...RECONCILE_OPTIONS, secrets: [signingKeys, totpKeys] }, async () => {
  const [{ reconcileUploads }, { getRuntime }] = await Promise.all([import('./uploads/reconcile.ts'), import('./runtime.ts')]);
  const { store, blobs, logger } = await getRuntime();
  await reconcileUploads({ store, blobs, logger });
});

/** Every five minutes: hands over the mail a server would not take at once (mail/mailer.ts). */
export const retryMail = onSchedule({ ...MAIL_RETRY_OPTIONS, secrets: [signingKeys, totpKeys] }, async () => {
  const { getRuntime } = await import('./runtime.ts');
  const runtime = await getRuntime();
  const report = await (await runtime.mailer()).retryDue(100);
  runtime.logger.info('mail retries', { event: 'mail.retries', ...report });
});
