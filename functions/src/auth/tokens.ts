/**
 * Access tokens: JWTs signed and verified with jose, one algorithm (EdDSA) pinned on both
 * sides, `typ` pinned to `at+jwt` (RFC 9068) so no other kind of JWT passes as an access token.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { ROLES, type Config, type Role } from '../config/index.ts';
import { SIGNING_ALGORITHM } from '../config/signing-keys.ts';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessClaims {
  sub: string;
  roles: Role[];
  /** Authentication methods, RFC 8176: `pwd`, `mfa`, ... */
  amr: string[];
  /** Whether the account's address is verified (OpenID Connect's `email_verified`); a token without the claim is not. */
  emailVerified: boolean;
  exp: number;
  jti: string | undefined;
  /** When the person last proved who they are (epoch seconds), if the token says. */
  authTime: number | undefined;
  /** The session (token family) the token was issued for, if any. */
  sid: string | undefined;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  roles: z.array(z.string()).max(16).default([]),
  amr: z.array(z.string()).max(8).default([]),
  email_verified: z.boolean().default(false),
  exp: z.number(),
  jti: z.string().optional(),
  auth_time: z.number().optional(),
  sid: z.string().max(128).optional(),
});

export interface IssueOptions {
  sub: string;
  roles: Role[];
  amr: string[];
  emailVerified: boolean;
  /** Seconds; defaults to the configured access-token lifetime. */
  ttlSeconds?: number;
  authTime?: number;
  /** The session it belongs to (tokens made by `npm run token` have none). */
  sid?: string;
}

export async function issueAccessToken(auth: Config['auth'], options: IssueOptions): Promise<string> {
  const key = await importJWK(auth.keys.current, SIGNING_ALGORITHM);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    roles: options.roles,
    amr: options.amr,
    email_verified: options.emailVerified,
    auth_time: options.authTime ?? now,
    ...(options.sid === undefined ? {} : { sid: options.sid }),
  })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: auth.keys.current.kid, typ: ACCESS_TOKEN_TYPE })
    .setSubject(options.sub)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.ttlSeconds ?? auth.accessTokenTtlSeconds))
    .setJti(randomUUID())
    .sign(key);
}

export type VerifyAccessToken = (token: string) => Promise<AccessClaims>;

/** A token that is not a valid access token of this service: `expired`, or `invalid` for every other reason. */
export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  readonly reason: 'expired' | 'invalid';

  constructor(reason: 'expired' | 'invalid', cause: unknown) {
    super(reason === 'expired' ? 'the access token has expired' : 'the access token is not valid', { cause });
    this.reason = reason;
  }
}

/**
 * A verifier that checks signature (key by `kid`), algorithm, `typ`, `iss`, `aud`, `exp`, `nbf`
 * with a small clock tolerance, and the claims' shape. Any failure is an AccessTokenError, so
 * callers need to know neither jose's errors nor zod's.
 */
export function createAccessTokenVerifier(auth: Config['auth']): VerifyAccessToken {
  const keys = createLocalJWKSet({ keys: auth.keys.verification });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: [SIGNING_ALGORITHM],
        issuer: auth.issuer,
        audience: auth.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: auth.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return toClaims(payload);
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new AccessTokenError('expired', error);
      if (error instanceof joseErrors.JOSEError || error instanceof z.ZodError) throw new AccessTokenError('invalid', error);
      throw error;
    }
  };
}

function toClaims(payload: JWTPayload): AccessClaims {
  const claims = claimsSchema.parse(payload);
  return {
    sub: claims.sub,
    // Unknown role names grant nothing rather than failing the token.
    roles: claims.roles.filter((role): role is Role => (ROLES as readonly string[]).includes(role)),
    amr: claims.amr,
    emailVerified: claims.email_verified,
    exp: claims.exp,
    jti: claims.jti,
    authTime: claims.auth_time,
    sid: claims.sid,
  };
}
