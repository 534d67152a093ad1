/**
 * App Check's side of a spec, on loopback: RSA keys made in the test, their JWKS served by a
 * stand-in (test/support/stand-in.ts) as App Check serves its own, and tokens signed with them
 * in App Check's shape — or bent out of it, one claim at a time.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { startStandIn, type StandIn } from './stand-in.ts';

export const PROJECT_NUMBER = '123456789012';
export const APP_ID = `1:${PROJECT_NUMBER}:web:0a1b2c3d4e5f`;
export const JWKS_PATH = '/v1/jwks';

export interface AppCheckIssuer {
  /** The stand-in serving the key set (its hits are the API's fetches). */
  keys: StandIn;
  /** What the API is started with to verify these tokens, beside the modes. */
  env: Record<string, string>;
  /** A token as App Check issues it; `claims` and `header` bend it. */
  token(options?: { claims?: JWTPayload; header?: Record<string, unknown>; key?: CryptoKey; expiresAt?: number }): Promise<string>;
  /** A key pair the key set does not have. */
  strangerKey(): Promise<CryptoKey>;
  close(): Promise<void>;
}

export async function startAppCheckIssuer(): Promise<AppCheckIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'app-check-key-1', alg: 'RS256', use: 'sig' };
  const keys = await startStandIn();
  keys.on(JWKS_PATH, { answer: JSON.stringify({ keys: [jwk] }), headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=21600' } });
  return {
    keys,
    env: { APP_CHECK_PROJECT_NUMBER: PROJECT_NUMBER, APP_CHECK_JWKS_URL: `${keys.url}${JWKS_PATH}` },
    async token({ claims = {}, header = {}, key = privateKey, expiresAt = Math.floor(Date.now() / 1000) + 3600 } = {}) {
      const payload: JWTPayload = {
        iss: `https://firebaseappcheck.googleapis.com/${PROJECT_NUMBER}`,
        aud: [`projects/${PROJECT_NUMBER}`, 'projects/demo-bastion'],
        sub: APP_ID,
        iat: Math.floor(Date.now() / 1000),
        exp: expiresAt,
        // Two tokens made in one second differ, as App Check's own do.
        jti: randomUUID(),
        ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: jwk.kid, ...header }).sign(key);
    },
    async strangerKey() {
      return (await generateKeyPair('RS256')).privateKey;
    },
    close: () => keys.close(),
  };
}
