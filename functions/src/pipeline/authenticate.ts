/**
 * Bearer-token authentication: bastion's access tokens, and with FIREBASE_AUTH on, Firebase Auth
 * ID tokens (told apart by their issuer, then verified by their own verifier: a token claiming
 * Google's issuer is never checked against bastion's keys, nor the other way). A verified token
 * is cached until its `exp`, so the signature is checked once per token, not once per request;
 * a Firebase token on a route that asks admins for MFA is checked against Firebase Auth every
 * time (`checkRevoked`: disabled users and revoked tokens refused at once). Every failure is 401
 * with a `WWW-Authenticate` challenge; the client learns whether the token expired, nothing more.
 */
import { decodeJwt } from 'jose';
import { AccessTokenError, type AccessClaims, type VerifyAccessToken } from '../auth/tokens.ts';
import type { Middleware } from './context.ts';
import { ApiError } from '../errors/api-error.ts';
import type { Principal } from './inputs.ts';
import { isPublic } from './route.ts';

/** The issuer of Firebase Auth ID tokens, before the project id. */
export const FIREBASE_ISSUER_PREFIX = 'https://securetoken.google.com/';

export interface FirebaseTokens {
  verify(idToken: string, options: { checkRevoked: boolean }): Promise<Principal>;
}

export interface AuthenticateOptions {
  verify: VerifyAccessToken;
  /** Firebase Auth ID tokens, when taken (auth/firebase-id-tokens.ts, loaded on the first one). */
  firebase?: (() => Promise<FirebaseTokens>) | undefined;
  /** Most verified tokens kept; the oldest is dropped first. */
  cacheSize?: number;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Verified claims by token, each kept until the token's own expiry. Entries are found by the
 * token's last KEY_CHARS characters (of its signature) and taken only for the very same token:
 * a lookup hashes those few characters, not the whole token (most of a request's Authorization
 * header) or its whole signature.
 */
export class VerifiedTokenCache<T extends { exp: number } = AccessClaims> {
  readonly #entries = new Map<string, { token: string; claims: T }>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  get(token: string): T | undefined {
    const key = cacheKey(token);
    const entry = this.#entries.get(key);
    if (!entry || entry.token !== token) return undefined;
    if (entry.claims.exp * 1000 <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.claims;
  }

  set(token: string, claims: T): void {
    const key = cacheKey(token);
    if (!this.#entries.has(key) && this.#entries.size >= this.#size) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { token, claims });
  }
}

/** 72 bits of signature: tokens that share them only take turns in the cache, as the whole token is compared. */
const KEY_CHARS = 12;
const cacheKey = (token: string) => token.slice(-KEY_CHARS);

/** The common form of the header; a token after it that the cache holds needs no parsing. */
const BEARER_PREFIX = 'Bearer ';

export function authenticate(options: AuthenticateOptions): Middleware {
  const cache = new VerifiedTokenCache<{ exp: number; principal: Principal }>(options.cacheSize ?? 10_000);

  async function verify(token: string): Promise<Principal> {
    try {
      const claims = await options.verify(token);
      const principal = principalOf(claims);
      cache.set(token, { exp: claims.exp, principal });
      return principal;
    } catch (error) {
      if (!(error instanceof AccessTokenError)) throw error;
      if (error.reason === 'expired') throw new ApiError('token_expired');
      throw new ApiError('invalid_token', { params: { reason: 'it failed verification' } });
    }
  }

  /** A Firebase token's principal; from the cache unless the route wants Firebase Auth asked. */
  const firebaseCache = new VerifiedTokenCache<{ exp: number; principal: Principal }>(options.cacheSize ?? 10_000);
  async function verifyFirebase(token: string, exp: number, checkRevoked: boolean): Promise<Principal> {
    const principal = await (await options.firebase!()).verify(token, { checkRevoked });
    firebaseCache.set(token, { exp, principal });
    return principal;
  }

  /** Which verifier a token is for: its unverified `iss` only routes it. */
  function firebaseExpiry(token: string): number | undefined {
    if (!options.firebase) return undefined;
    try {
      const { iss, exp } = decodeJwt(token);
      return iss?.startsWith(FIREBASE_ISSUER_PREFIX) && typeof exp === 'number' ? exp : undefined;
    } catch {
      return undefined;
    }
  }

  // A token verified before is taken at once: the stage waits only for a token it has not seen.
  return (ctx, next) => {
    const route = ctx.route!;
    // Public, or a signed request already verified (signed-request.ts).
    if (isPublic(route.access) || ctx.principal) return next();
    const header = ctx.req.headers.authorization;
    if (header === undefined) {
      throw new ApiError('missing_token');
    }
    const signIn = (principal: Principal) => {
      ctx.principal = principal;
      return next();
    };
    // Only tokens that passed BEARER and bastion's verifier are in the cache: one of them after
    // the usual prefix is what BEARER would take out of the header.
    const seen = header.startsWith(BEARER_PREFIX) ? cache.get(header.slice(BEARER_PREFIX.length)) : undefined;
    if (seen) return signIn(seen.principal);
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new ApiError('invalid_token', { params: { reason: 'the Authorization header must be "Bearer <token>"' } });
    const firebaseExp = firebaseExpiry(token);
    if (firebaseExp !== undefined) {
      const checkRevoked = (route.access.mfa?.length ?? 0) > 0;
      const cached = checkRevoked ? undefined : firebaseCache.get(token);
      return cached ? signIn(cached.principal) : verifyFirebase(token, firebaseExp, checkRevoked).then(signIn);
    }
    const cached = cache.get(token);
    return cached ? signIn(cached.principal) : verify(token).then(signIn);
  };
}

/** Frozen: the cache hands the same principal to every request of its token. */
function principalOf(claims: AccessClaims): Principal {
  return Object.freeze({
    subject: claims.sub,
    roles: Object.freeze([...claims.roles]),
    mfa: claims.amr.includes('mfa'),
    emailVerified: claims.emailVerified,
    authTime: claims.authTime,
    sessionId: claims.sid,
  });
}
