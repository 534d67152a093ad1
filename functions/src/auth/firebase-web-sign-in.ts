/**
 * What the web app needs to sign Firebase users in itself (FIREBASE_WEB_API_KEY, with
 * FIREBASE_AUTH=on): the project, its Web API key — public by design: it names the project to
 * Firebase Auth and grants nothing — and Firebase Auth's REST endpoints, Google's or, where
 * FIREBASE_AUTH_EMULATOR_HOST is set (never in production), the Auth emulator's. The page talks
 * to them directly (no bundler, so no Firebase JS SDK; see the README), and its
 * Content-Security-Policy lets it connect to their origins and to no other.
 */
import type { Config } from '../config/index.ts';

export interface FirebaseWebSignIn {
  apiKey: string;
  projectId: string;
  /** Sign-in with a password: `accounts:signInWithPassword` under this. */
  identityToolkitUrl: string;
  /** New ID tokens for a refresh token: `token` under this. */
  secureTokenUrl: string;
}

const IDENTITY_TOOLKIT = 'identitytoolkit.googleapis.com';
const SECURE_TOKEN = 'securetoken.googleapis.com';

/** Where a deployed page signs in: what firebase.json's page CSP allows when the page offers Firebase sign-in. */
export const FIREBASE_SIGN_IN_ORIGINS = [`https://${IDENTITY_TOOLKIT}`, `https://${SECURE_TOKEN}`];

/** The page's Firebase sign-in, or null when this deployment offers none. */
export function firebaseWebSignIn(config: Config['firebaseAuth']): FirebaseWebSignIn | null {
  const { enabled, webApiKey, projectId, emulatorHost } = config;
  if (!enabled || !webApiKey || !projectId) return null;
  // The emulator serves each API under a path of its host name.
  const base = (service: string) => (emulatorHost ? `http://${emulatorHost}/${service}` : `https://${service}`);
  return { apiKey: webApiKey, projectId, identityToolkitUrl: `${base(IDENTITY_TOOLKIT)}/v1`, secureTokenUrl: `${base(SECURE_TOKEN)}/v1` };
}

/** The origins the page must be able to connect to for it (CSP connect-src); none without it. */
export function signInOrigins(signIn: FirebaseWebSignIn | null): string[] {
  return signIn ? [...new Set([signIn.identityToolkitUrl, signIn.secureTokenUrl].map((url) => new URL(url).origin))] : [];
}
