/**
 * How the functions are deployed, declared once: the functions (index.ts) take their options
 * from here, and `npm run docs` writes firebase.json's Hosting rewrites from the same region
 * (deploy/hosting.ts), so Hosting never points at a region the functions are not in. The
 * scheduled `reconcile` is no HTTP function: Hosting has no rewrite for it.
 */
import type { HttpsOptions } from 'firebase-functions/v2/https';
import type { ScheduleOptions } from 'firebase-functions/scheduler';
import type { FunctionName } from '../pipeline/route.ts';

/** Where the functions run. Change it here, then `npm run docs` updates firebase.json. */
export const REGION = 'us-central1';

/**
 * Whether the web app on Hosting offers Firebase sign-in (it also needs FIREBASE_AUTH=on and
 * FIREBASE_WEB_API_KEY in the functions' environment): `npm run docs` then lets the page's
 * Content-Security-Policy connect to Firebase Auth in firebase.json. Off, the page may connect to
 * its own origin only.
 */
export const WEB_FIREBASE_SIGN_IN = false;

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
  // A password hash (scrypt, N=2^17, r=8) holds 128 MiB while it runs, two at most at once
  // (auth/passwords.ts), and the strength checker's worker about 100 MiB: six requests in flight
  // (two hashing, four waiting) fit with room to spare.
  auth: { ...common, memory: '1GiB', cpu: 1, concurrency: 6 },
  items: common,
  // The platform reads each request body into memory (rawBody) before the function runs; an
  // upload at the 5 MiB limit may be held up to three times over while it is parsed and sent on
  // (20 at once: 300 MiB), and the one image decoded at a time takes up to ~360 MiB (a 25 MP GIF
  // frame; uploads/reencode.ts).
  uploads: { ...common, memory: '1GiB', cpu: 1, concurrency: 20 },
};

/**
 * The scheduled reconciler (uploads/reconcile.ts): hourly, one instance at a time. A failed run
 * is not retried: the next one, an hour later, is the retry, and removes the same orphans.
 */
export const RECONCILE_OPTIONS = {
  schedule: 'every 60 minutes',
  timeZone: 'Etc/UTC',
  region: REGION,
  memory: '256MiB',
  // A pass lists every upload blob: give it the longest an event-driven function may run.
  timeoutSeconds: 540,
  maxInstances: 1,
  retryCount: 0,
} as const satisfies Omit<ScheduleOptions, 'secrets'>;

/**
 * The mail retries (mail/retries.ts): every five minutes, one instance at a time. A failed run
 * is not retried: the next one is.
 */
export const MAIL_RETRY_OPTIONS = {
  schedule: 'every 5 minutes',
  timeZone: 'Etc/UTC',
  region: REGION,
  memory: '256MiB',
  timeoutSeconds: 120,
  maxInstances: 1,
  retryCount: 0,
} as const satisfies Omit<ScheduleOptions, 'secrets'>;
