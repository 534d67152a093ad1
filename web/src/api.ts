/**
 * The API, as the web app uses it: same origin, the session in the HttpOnly cookie (never in
 * storage), the access token in memory only, and X-CSRF-Token on every cookie-authenticated
 * write. An expired access token is renewed once through the cookie. Where the API offers it, a
 * Firebase user signs in with Firebase Auth instead (firebase.ts), and its ID token is the bearer.
 */
import { ApiError } from './api-error.ts';
import { claimsOf, endsSession, keepRefreshToken, keptRefreshToken, refreshIdToken, signInWithPassword, type FirebaseSignIn, type FirebaseTokens } from './firebase.ts';

export { ApiError };

export interface Account {
  id: string;
  email: string;
  emailVerified: boolean;
  roles: string[];
  mfaEnabled: boolean;
  /** Signed in with Firebase Auth: the account is Firebase's to manage, not the API's. */
  firebase?: true;
}

interface SessionAnswer {
  accessToken: string;
  csrfToken?: string;
  user: Account;
  deviceToken?: string;
}

/**
 * Device tokens, one per account email, kept across sign-outs: a login that presents one is
 * spared the lockout strangers can cause (see the API's auth/device-tokens.ts). They grant
 * nothing else, so local storage is good enough.
 */
const DEVICE_TOKENS = 'bastion.deviceTokens';

function deviceTokens(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(DEVICE_TOKENS) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

function keepDeviceToken(email: string, token: string | undefined): void {
  if (!token) return;
  try {
    localStorage.setItem(DEVICE_TOKENS, JSON.stringify({ ...deviceTokens(), [email.trim().toLowerCase()]: token }));
  } catch {
    // Storage refused (private mode): the next login is simply judged as a new device's.
  }
}

let accessToken: string | null = null;
let csrfToken: string | null = null;
export let account: Account | null = null;

/** This deployment's Firebase sign-in (GET /auth/web-config), or null: read once at start. */
let firebaseSignIn: FirebaseSignIn | null = null;
/** The Firebase session of this tab, when a Firebase user is signed in. */
let firebaseRefreshToken: string | null = null;

export async function loadWebConfig(): Promise<void> {
  try {
    firebaseSignIn = (await call<{ firebase: FirebaseSignIn | null }>('GET', '/auth/web-config', { bearer: false })).firebase;
  } catch {
    firebaseSignIn = null; // the page still offers the API's own sign-in
  }
}

export const offersFirebaseSignIn = (): boolean => firebaseSignIn !== null;

export function signedIn(): boolean {
  return accessToken !== null;
}

function started(answer: SessionAnswer): Account {
  accessToken = answer.accessToken;
  firebaseRefreshToken = null;
  keepRefreshToken(null);
  if (answer.csrfToken) csrfToken = answer.csrfToken;
  account = answer.user;
  keepDeviceToken(answer.user.email, answer.deviceToken);
  return answer.user;
}

/** The ID token is the bearer token; what the page shows of the user comes from its claims. */
function startedWithFirebase(tokens: FirebaseTokens): Account {
  accessToken = tokens.idToken;
  csrfToken = null;
  firebaseRefreshToken = tokens.refreshToken;
  keepRefreshToken(tokens.refreshToken);
  const claims = claimsOf(tokens.idToken);
  account = {
    id: `firebase:${typeof claims.user_id === 'string' ? claims.user_id : ''}`,
    email: typeof claims.email === 'string' ? claims.email : '',
    emailVerified: claims.email_verified === true,
    roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
    mfaEnabled: false,
    firebase: true,
  };
  return account;
}

export function forget(): void {
  accessToken = null;
  csrfToken = null;
  account = null;
  firebaseRefreshToken = null;
  keepRefreshToken(null);
}

async function problemOf(response: Response): Promise<ApiError> {
  const retryAfter = response.headers.get('Retry-After');
  let body: { error?: { code?: string; message?: string; requestId?: string; details?: unknown } } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // not JSON: described by the status alone
  }
  return new ApiError({
    status: response.status,
    code: body.error?.code ?? 'internal_error',
    message: body.error?.message ?? `HTTP ${response.status}`,
    retryAfterSeconds: retryAfter ? Number(retryAfter) : undefined,
    requestId: body.error?.requestId,
    details: body.error?.details,
  });
}

interface CallOptions {
  body?: unknown;
  /** Send the access token (default), or not. */
  bearer?: boolean;
  /** A write authenticated by the session cookie: send the CSRF token. */
  cookie?: boolean;
  /** Answer as a Blob (file contents) instead of JSON. */
  blob?: boolean;
}

async function send(method: string, path: string, options: CallOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.bearer !== false && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  if (options.cookie && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  try {
    return await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network', message: 'The server could not be reached.' });
  }
}

/** A Firebase user confirms its address with Firebase, and the page's next ID token says so. */
function forFirebaseUser(problem: ApiError): ApiError {
  if (!account?.firebase || problem.code !== 'email_not_verified') return problem;
  // The address may have been confirmed since this ID token was issued: the next one says so.
  if (firebaseRefreshToken) renew().catch(() => undefined);
  return new ApiError({ ...problem, code: 'firebase/EMAIL_NOT_VERIFIED', message: 'Confirm your email address first: follow the link Firebase mailed you, then try again.' });
}

export async function call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  let response = await send(method, path, options);
  if (response.status === 401 && options.bearer !== false && accessToken && (await renew())) {
    response = await send(method, path, options);
  }
  if (!response.ok) throw forFirebaseUser(await problemOf(response));
  if (options.blob) return (await response.blob()) as T;
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/**
 * A new access token: a Firebase user's from its refresh token (kept for the tab), anyone
 * else's through the session cookie; false when there is no session any more.
 */
export async function renew(): Promise<boolean> {
  const refreshToken = firebaseSignIn ? (firebaseRefreshToken ?? keptRefreshToken()) : null;
  if (firebaseSignIn && refreshToken) return renewWithFirebase(firebaseSignIn, refreshToken);
  try {
    if (!csrfToken) {
      const state = await call<{ session: boolean; csrfToken?: string }>('GET', '/auth/session', { bearer: false });
      if (!state.session || !state.csrfToken) return false;
      csrfToken = state.csrfToken;
    }
    started(await call<SessionAnswer>('POST', '/auth/refresh', { body: {}, bearer: false, cookie: true }));
    return true;
  } catch {
    forget();
    return false;
  }
}

async function renewWithFirebase(config: FirebaseSignIn, refreshToken: string): Promise<boolean> {
  try {
    startedWithFirebase(await refreshIdToken(config, refreshToken));
    return true;
  } catch (error) {
    if (!endsSession(error)) throw error; // Firebase unreachable: still signed in, say why it failed
    forget();
    return false;
  }
}

/** Signs a Firebase user in with its email and password (only where the API offers it). */
export async function loginWithFirebase(email: string, password: string): Promise<Account> {
  if (!firebaseSignIn) throw new ApiError({ status: 0, code: 'firebase/NOT_OFFERED', message: 'This site does not offer Firebase sign-in.' });
  return startedWithFirebase(await signInWithPassword(firebaseSignIn, email, password));
}

function deviceTokenFor(email: string): { deviceToken?: string } {
  const token = deviceTokens()[email.trim().toLowerCase()];
  return token ? { deviceToken: token } : {};
}

export type LoginResult = { kind: 'signed-in'; account: Account } | { kind: 'mfa'; challenge: string };

export async function login(email: string, password: string): Promise<LoginResult> {
  const answer = await call<SessionAnswer | { mfaRequired: true; challenge: string }>('POST', '/auth/login', {
    body: { email, password, session: 'cookie', ...deviceTokenFor(email) },
    bearer: false,
  });
  if ('mfaRequired' in answer) return { kind: 'mfa', challenge: answer.challenge };
  return { kind: 'signed-in', account: started(answer) };
}

/** What a person typed as a second factor, as the API takes it: six digits are a TOTP code, anything else a recovery code. */
export function secondFactor(code: string): { code: string } | { recoveryCode: string } {
  return /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
}

export async function verifyMfa(challenge: string, code: string): Promise<Account> {
  const body = { challenge, session: 'cookie', ...secondFactor(code) };
  return started(await call<SessionAnswer>('POST', '/auth/mfa/verify', { body, bearer: false }));
}

/**
 * Follows a confirmation link: the address is confirmed. A signed-in page renews its access
 * token, which says so from then on.
 */
export async function verifyEmail(token: string): Promise<void> {
  await call('POST', '/auth/verify-email', { body: { token }, bearer: false });
  if (signedIn()) await renew();
}

/** Follows the link mailed to a new address: the account moves there. A signed-in page renews its token and its account. */
export async function confirmEmailChange(token: string): Promise<string> {
  const answer = await call<{ user: Account }>('POST', '/auth/email/confirm', { body: { token }, bearer: false });
  if (signedIn()) await renew();
  return answer.user.email;
}

export async function logout(): Promise<void> {
  // A Firebase session is the tab's refresh token: forgetting it signs out (as the SDK's signOut does).
  if (account?.firebase) return forget();
  try {
    await call('POST', '/auth/logout', { body: {}, bearer: false, cookie: true });
  } finally {
    forget();
  }
}

/** POST /uploads with progress (fetch cannot report upload progress; XMLHttpRequest can). */
export function uploadFile<T>(file: File, onProgress: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/uploads');
    if (accessToken) request.setRequestHeader('Authorization', `Bearer ${accessToken}`);
    request.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    request.onerror = () => reject(new ApiError({ status: 0, code: 'network', message: 'The server could not be reached.' }));
    request.onload = async () => {
      const response = new Response(request.responseText, {
        status: request.status,
        headers: { 'Retry-After': request.getResponseHeader('Retry-After') ?? '' },
      });
      if (request.status === 201) resolve(JSON.parse(request.responseText) as T);
      else reject(await problemOf(response));
    };
    const form = new FormData();
    form.append('file', file);
    request.send(form);
  });
}
