/**
 * What a handler is given about a request, below both the route table and the pipeline's
 * context (which import it; it imports neither): the request, who is asking, the session
 * cookie, the services.
 */
import type { IncomingMessage } from 'node:http';
import type { BlobStore } from '../blobs/port.ts';
import type { Config, Role } from '../config/index.ts';
import type { BreachedPasswordCheck } from '../auth/breached-passwords.ts';
import type { FirebaseWebSignIn } from '../auth/firebase-web-sign-in.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { DocumentStore } from '../store/port.ts';

/** Cloud Functions has already read the body into `rawBody`; elsewhere we stream it. */
export type Request = IncomingMessage & { rawBody?: Buffer };

/** A browser session as its cookie names it: the session (token family) and its refresh token. */
export interface CookieSession {
  sessionId: string;
  refreshToken: string;
}

export interface Principal {
  subject: string;
  /** The roles this request may act with: the token's roles that the route grants, MFA permitting. */
  roles: readonly Role[];
  mfa: boolean;
  /** Whether the account's address is verified (the token's `email_verified`). */
  emailVerified: boolean;
  /** Epoch seconds of the sign-in the token stems from (`auth_time`), if known. */
  authTime: number | undefined;
  /** The session the token was issued for (`sid`), if it says. */
  sessionId: string | undefined;
}

/** Long-lived services the handlers use, created once per process. */
export interface Services {
  store: DocumentStore;
  blobs: BlobStore;
  /** Issuer, audience, keys and lifetimes of tokens. */
  auth: Config['auth'];
  /** Upload limits. */
  uploads: Config['uploads'];
  /** Rate-limit sizes, for the documentation. */
  rateLimits: Config['rateLimits'];
  /** Each function's App Check mode, for the documentation. */
  appCheckModes: Config['appCheck']['modes'];
  /** Whether Firebase Auth ID tokens are taken, for the documentation. */
  firebaseAuth: boolean;
  /** What the web app needs to sign Firebase users in, when this deployment offers it. */
  firebaseWebSignIn: FirebaseWebSignIn | null;
  /** Sends mail: loaded on first use. */
  mailer(): Promise<Mailer>;
  /** Where the links in mails point (APP_URL). */
  appUrl: string;
  /** Looks new passwords up among breached ones: loaded on first use. */
  breachedPasswords(): Promise<BreachedPasswordCheck>;
}
