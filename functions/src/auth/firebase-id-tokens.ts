/**
 * Firebase Auth ID tokens, beside bastion's own access tokens (FIREBASE_AUTH=on), verified by
 * firebase-admin's `verifyIdToken`: Google's signing keys, `aud` the project, `iss`
 * `https://securetoken.google.com/<project>`, `auth_time` in the past; with `checkRevoked`, also
 * that the user is not disabled and its tokens not revoked since (a call to Firebase Auth). The
 * calls go through the outbound client: Google's keys or Firebase Auth unreachable answer 503
 * firebase_auth_unavailable, never a hang.
 *
 * The principal has the same shape as for bastion's tokens:
 * - subject `firebase:<uid>`, so no Firebase uid can ever be taken for a bastion account id;
 * - roles from the custom claim `roles` (an array; names that are not roles are dropped), or
 *   FIREBASE_AUTH_DEFAULT_ROLE when it names none (set claims with the Admin SDK's
 *   `setCustomUserClaims(uid, { roles: ['admin'] })`);
 * - `mfa` when the token comes from a second-factor sign-in (`firebase.sign_in_second_factor`),
 *   `authTime` from `auth_time`, `emailVerified` from `email_verified`.
 *
 * firebase-admin loads on the first Firebase token, not before.
 */
import type { Logger } from 'winston';
import { ROLES, type Config, type Role } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import { createOutboundClient, type OutboundClient } from '../outbound/client.ts';
import type { Principal } from '../pipeline/inputs.ts';

export const FIREBASE_SUBJECT_PREFIX = 'firebase:';

export interface FirebaseIdTokenVerifier {
  verify(idToken: string, options: { checkRevoked: boolean }): Promise<Principal>;
}

/** firebase-admin's answers about the token itself; anything else is Firebase failing. */
const VERDICTS = new Map<string, () => ApiError>([
  ['auth/id-token-expired', () => new ApiError('token_expired')],
  ['auth/id-token-revoked', () => new ApiError('invalid_token', { params: { reason: 'it was revoked' } })],
  ['auth/user-disabled', () => new ApiError('account_disabled')],
  ['auth/user-not-found', () => new ApiError('invalid_token', { params: { reason: 'its user no longer exists' } })],
  ['auth/argument-error', () => new ApiError('invalid_token', { params: { reason: 'it failed verification' } })],
  ['auth/invalid-id-token', () => new ApiError('invalid_token', { params: { reason: 'it failed verification' } })],
]);

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** The roles a Firebase user's token grants: its `roles` claim's known names, or the default. */
export function rolesOf(claims: Record<string, unknown>, defaultRole: Role): Role[] {
  const named = Array.isArray(claims.roles) ? ROLES.filter((role) => (claims.roles as unknown[]).includes(role)) : [];
  return named.length > 0 ? named : [defaultRole];
}

export function createFirebaseIdTokenVerifier(config: Config['firebaseAuth'], options: { logger?: Logger; client?: OutboundClient } = {}): FirebaseIdTokenVerifier {
  const { projectId } = config;
  if (!projectId) throw new Error('Firebase Auth needs the project id (GCLOUD_PROJECT)');
  const client =
    options.client ??
    createOutboundClient({
      dependency: 'firebase-auth',
      unavailable: 'firebase_auth_unavailable',
      isFailure: (error) => !VERDICTS.has(codeOf(error) ?? ''),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  let auth: Promise<import('firebase-admin/auth').Auth> | undefined;
  const firebaseAuth = () =>
    (auth ??= Promise.all([import('firebase-admin/app'), import('firebase-admin/auth')]).then(([app, { getAuth }]) => {
      // An app of its own: the Firestore driver's app has other settings, and may not exist. One
      // per Auth emulator address too: firebase-admin binds the address when it creates an app's Auth.
      const host = process.env.FIREBASE_AUTH_EMULATOR_HOST;
      const name = host ? `bastion-firebase-auth@${host}` : 'bastion-firebase-auth';
      return getAuth(app.getApps().find((existing) => existing.name === name) ?? app.initializeApp({ projectId }, name));
    }));

  return {
    async verify(idToken, { checkRevoked }) {
      const admin = await firebaseAuth();
      let decoded;
      try {
        decoded = await client.call(() => admin.verifyIdToken(idToken, checkRevoked), { idempotent: true });
      } catch (error) {
        const verdict = VERDICTS.get(codeOf(error) ?? '');
        if (verdict) throw verdict();
        throw error;
      }
      return {
        subject: `${FIREBASE_SUBJECT_PREFIX}${decoded.uid}`,
        roles: rolesOf(decoded, config.defaultRole),
        mfa: typeof decoded.firebase.sign_in_second_factor === 'string',
        emailVerified: decoded.email_verified === true,
        authTime: decoded.auth_time,
        sessionId: undefined,
      };
    },
  };
}
