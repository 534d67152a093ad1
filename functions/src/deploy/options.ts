/**
 * How the three functions are deployed, declared once: the functions (index.ts) take their
 * options from here, and `npm run docs` writes firebase.json's Hosting rewrites from the same
 * region (deploy/hosting.ts), so Hosting never points at a region the functions are not in.
 */
import type { HttpsOptions } from 'firebase-functions/v2/https';
import type { FunctionName } from '../pipeline/route.ts';

/** Where the functions run. Change it here, then `npm run docs` updates firebase.json. */
export const REGION = 'us-central1';

/** An upper bound on instances per function: a flood costs a bounded bill, then 429s from the platform. */
export const MAX_INSTANCES = 10;

/** Every request must end well before this; store calls give up after STORE_DEADLINE_MS. */
export const TIMEOUT_SECONDS = 30;

const common = {
  region: REGION,
  // The pipeline is the access control; the platform must let browsers and apps reach it.
  invoker: 'public',
  // CORS is the pipeline's (an allowlist, credentials): firebase-functions must add none of its
  // own, and under the emulator it would otherwise answer every preflight for any origin.
  cors: false,
  maxInstances: MAX_INSTANCES,
  timeoutSeconds: TIMEOUT_SECONDS,
  concurrency: 80,
  memory: '256MiB',
} as const satisfies HttpsOptions;

/** Each function's size, for its work. */
export const FUNCTION_OPTIONS: Record<FunctionName, Omit<HttpsOptions, 'secrets'>> = {
  // A password hash (scrypt, N=2^17, r=8) holds 128 MiB while it runs: room for six at once.
  auth: { ...common, memory: '1GiB', cpu: 1, concurrency: 6 },
  items: common,
  // The platform reads each request body into memory (rawBody) before the function runs; an
  // upload at the 5 MiB limit may be held up to three times over while it is parsed and sent on.
  uploads: { ...common, memory: '512MiB', concurrency: 20 },
};
