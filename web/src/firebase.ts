/**
 * Firebase sign-in, where the API offers it (GET /auth/web-config): the page calls Firebase
 * Auth's REST API itself — the calls the Firebase JS SDK makes, without the SDK, which needs a
 * bundler this app does not have — and sends the ID token to the API as its bearer token.
 *
 * The refresh token is kept in sessionStorage, as the SDK's `browserSessionPersistence` keeps
 * it: a reload of the tab stays signed in, closing the tab signs out. The page's CSP lets it
 * reach Firebase Auth's two origins and no other.
 */
import { ApiError } from './api-error.ts';

export interface FirebaseSignIn {
  apiKey: string;
  projectId: string;
  identityToolkitUrl: string;
  secureTokenUrl: string;
}

export interface FirebaseTokens {
  idToken: string;
  refreshToken: string;
}

/** Firebase Auth's error messages (`CODE` or `CODE : detail`), in the app's words. */
const WORDS: Record<string, string> = {
  INVALID_LOGIN_CREDENTIALS: 'The email or the password is wrong.',
  EMAIL_NOT_FOUND: 'The email or the password is wrong.',
  INVALID_PASSWORD: 'The email or the password is wrong.',
  INVALID_EMAIL: 'That is not an email address.',
  MISSING_PASSWORD: 'Give your password.',
  USER_DISABLED: 'This account is disabled. Ask an administrator.',
  TOO_MANY_ATTEMPTS_TRY_LATER: 'Too many failed sign-ins: Firebase has paused this account for a while. Try again later.',
  TOKEN_EXPIRED: 'Your session has ended. Please sign in again.',
  INVALID_REFRESH_TOKEN: 'Your session has ended. Please sign in again.',
  USER_NOT_FOUND: 'Your session has ended. Please sign in again.',
};

const SESSION_ENDED = new Set(['TOKEN_EXPIRED', 'INVALID_REFRESH_TOKEN', 'USER_NOT_FOUND', 'USER_DISABLED']);

/** Whether Firebase refused a refresh token for good (sign in again), rather than failing for now. */
export const endsSession = (error: unknown): boolean => error instanceof ApiError && SESSION_ENDED.has(error.code.replace(/^firebase\//, ''));

async function firebaseCall(url: string, init: RequestInit): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    // Only the origin as referrer: enough for a Web API key restricted to this site's address.
    response = await fetch(url, { ...init, referrerPolicy: 'strict-origin', credentials: 'omit' });
  } catch {
    throw new ApiError({ status: 0, code: 'network', message: 'Firebase Auth could not be reached. Check your connection.' });
  }
  let body: { error?: { message?: string } } & Record<string, unknown> = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON: described by the status alone
  }
  if (response.ok) return body;
  const code = (body.error?.message ?? `HTTP_${response.status}`).split(/[\s:]/, 1)[0]!;
  const words = WORDS[code] ?? `Firebase could not sign you in (${code}).`;
  throw new ApiError({ status: response.status, code: `firebase/${code}`, message: words });
}

/** Email and password, as `signInWithEmailAndPassword` sends them. */
export async function signInWithPassword(config: FirebaseSignIn, email: string, password: string): Promise<FirebaseTokens> {
  const answer = await firebaseCall(`${config.identityToolkitUrl}/accounts:signInWithPassword?key=${encodeURIComponent(config.apiKey)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  if (answer.mfaPendingCredential) {
    // Firebase's second factors are SMS codes, which a web page may request only through
    // reCAPTCHA, a script from Google that this page's CSP keeps out.
    throw new ApiError({
      status: 0,
      code: 'firebase/SECOND_FACTOR',
      message: 'This account signs in with a second factor, which this page cannot ask for. Sign in with your app instead.',
    });
  }
  return { idToken: String(answer.idToken), refreshToken: String(answer.refreshToken) };
}

/** A new ID token for the refresh token, as the SDK renews one. */
export async function refreshIdToken(config: FirebaseSignIn, refreshToken: string): Promise<FirebaseTokens> {
  const answer = await firebaseCall(`${config.secureTokenUrl}/token?key=${encodeURIComponent(config.apiKey)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { idToken: String(answer.id_token), refreshToken: String(answer.refresh_token) };
}

/** What an ID token says of its user, for the page to show (the API decides what it may do). */
export function claimsOf(idToken: string): Record<string, unknown> {
  try {
    const payload = idToken.split('.')[1] ?? '';
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const KEPT = 'bastion.firebaseRefreshToken';

export function keptRefreshToken(): string | null {
  try {
    return sessionStorage.getItem(KEPT);
  } catch {
    return null;
  }
}

export function keepRefreshToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEPT, token);
    else sessionStorage.removeItem(KEPT);
  } catch {
    // Storage refused (private mode): a reload signs out.
  }
}
