/**
 * The functions as firebase-functions declares them: what `firebase deploy` and the emulator's
 * discovery read (each export's `__endpoint`: region, memory, secrets, schedule). index.ts loads
 * this only when no HTTP function is being served: an instance the platform started for `items`
 * calls the plain handler and never pays for firebase-functions (≈ 0.15 s of its cold start).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineSecret } from 'firebase-functions/params';
import { onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/scheduler';
import type { FunctionName } from '../pipeline/route.ts';
import { FUNCTION_OPTIONS, MAIL_RETRY_OPTIONS, RECONCILE_OPTIONS } from './options.ts';

/** What each function runs; index.ts supplies them. */
export interface FunctionBodies {
  http: (name: FunctionName) => (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  reconcile: () => Promise<void>;
  retryMail: () => Promise<void>;
}

export function declareFunctions(bodies: FunctionBodies) {
  /** JWK set of signing keys (see README, "Configuration"); set with `firebase functions:secrets:set AUTH_SIGNING_KEYS`. */
  const signingKeys = defineSecret('AUTH_SIGNING_KEYS');
  /** JWK set of the keys that seal TOTP secrets at rest; `firebase functions:secrets:set AUTH_TOTP_KEYS`. */
  const totpKeys = defineSecret('AUTH_TOTP_KEYS');
  // The scheduled functions share the HTTP functions' runtime, whose configuration wants both
  // keys in production, so they are given them although they use neither.
  const secrets = [signingKeys, totpKeys];
  const https = (name: FunctionName) => onRequest({ ...FUNCTION_OPTIONS[name], secrets }, bodies.http(name));
  return {
    auth: https('auth'),
    items: https('items'),
    uploads: https('uploads'),
    reconcile: onSchedule({ ...RECONCILE_OPTIONS, secrets }, bodies.reconcile),
    retryMail: onSchedule({ ...MAIL_RETRY_OPTIONS, secrets }, bodies.retryMail),
  };
}
