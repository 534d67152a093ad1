/**
 * The Cloud Functions entry point: `auth`, `items` and `uploads` as v2 HTTPS functions.
 *
 * Each export loads its pipeline on its first request, so deploying three functions from one
 * codebase does not make every instance pay for the others' code, and config errors surface
 * as a failed request with a clear log line instead of a crash loop. The same handlers answer
 * under the function's own URL and under Hosting rewrites (`/items/**` → items).
 */
import { randomUUID } from 'node:crypto';
import { defineSecret } from 'firebase-functions/params';
import { onRequest, type HttpsOptions } from 'firebase-functions/v2/https';
import type { RequestHandler } from './app.ts';
import { sendJson } from './pipeline/respond.ts';
import type { FunctionName } from './pipeline/route.ts';

/** JWK set of signing keys (see README, "Configuration"); set with `firebase functions:secrets:set AUTH_SIGNING_KEYS`. */
const signingKeys = defineSecret('AUTH_SIGNING_KEYS');

const options: HttpsOptions = {
  secrets: [signingKeys],
  // The pipeline is the access control; the platform must let browsers and apps reach it.
  invoker: 'public',
  concurrency: 80,
  memory: '256MiB',
  timeoutSeconds: 30,
};

function lazily(name: FunctionName): (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1]) => Promise<void> {
  let handler: Promise<RequestHandler> | undefined;
  return async (req, res) => {
    handler ??= (async () => {
      const [{ createFunctionHandler }, { getRuntime }] = await Promise.all([import('./app.ts'), import('./runtime.ts')]);
      return createFunctionHandler(name, await getRuntime());
    })();
    try {
      await (await handler)(req, res);
    } catch (error) {
      handler = undefined; // let the next request retry start-up
      const requestId = randomUUID();
      console.error(JSON.stringify({ severity: 'CRITICAL', message: 'function failed to start', function: name, requestId, error: String(error) }));
      if (!res.headersSent) {
        sendJson(res, 503, { error: { code: 'unavailable', message: 'The service could not start; retry shortly.', requestId } }, { 'Cache-Control': 'no-store' });
      }
    }
  };
}

// A password hash (scrypt, N=2^17, r=8) holds 128 MiB while it runs: room for six at once.
export const auth = onRequest({ ...options, memory: '1GiB', cpu: 1, concurrency: 6 }, lazily('auth'));
export const items = onRequest(options, lazily('items'));
// The platform reads each request body into memory (rawBody) before the function runs; an
// upload at the 5 MiB limit may be held up to three times over while it is parsed and sent on.
export const uploads = onRequest({ ...options, memory: '512MiB', concurrency: 20 }, lazily('uploads'));
