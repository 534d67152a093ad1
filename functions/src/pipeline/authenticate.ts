/**
 * Bearer-token authentication. A verified token is cached until its `exp`, so the signature
 * is checked once per token, not once per request. Every failure is 401 with a
 * `WWW-Authenticate` challenge; the client learns whether the token expired, nothing more.
 */
import { AccessTokenError, type AccessClaims, type VerifyAccessToken } from '../auth/tokens.ts';
import type { Middleware } from './context.ts';
import { ApiError } from '../errors/api-error.ts';
import { isPublic } from './route.ts';

export interface AuthenticateOptions {
  verify: VerifyAccessToken;
  /** Most verified tokens kept; the oldest is dropped first. */
  cacheSize?: number;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Verified claims by token, each kept until the token's own expiry. */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, AccessClaims>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  get(token: string): AccessClaims | undefined {
    const claims = this.#entries.get(token);
    if (claims && claims.exp * 1000 <= Date.now()) {
      this.#entries.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: AccessClaims): void {
    if (this.#entries.size >= this.#size) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, claims);
  }
}

export function authenticate(options: AuthenticateOptions): Middleware {
  const cache = new VerifiedTokenCache(options.cacheSize ?? 10_000);

  async function verify(token: string): Promise<AccessClaims> {
    const cached = cache.get(token);
    if (cached) return cached;
    try {
      const claims = await options.verify(token);
      cache.set(token, claims);
      return claims;
    } catch (error) {
      if (!(error instanceof AccessTokenError)) throw error;
      if (error.reason === 'expired') throw new ApiError('token_expired');
      throw new ApiError('invalid_token', { params: { reason: 'it failed verification' } });
    }
  }

  return async (ctx, next) => {
    // Public, or a signed request already verified (signed-request.ts).
    if (isPublic(ctx.route!.access) || ctx.principal) return next();
    const header = ctx.req.headers.authorization;
    if (header === undefined) {
      throw new ApiError('missing_token');
    }
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new ApiError('invalid_token', { params: { reason: 'the Authorization header must be "Bearer <token>"' } });
    const claims = await verify(token);
    ctx.principal = {
      subject: claims.sub,
      roles: claims.roles,
      mfa: claims.amr.includes('mfa'),
      emailVerified: claims.emailVerified,
      authTime: claims.authTime,
      sessionId: claims.sid,
    };
    await next();
  };
}
