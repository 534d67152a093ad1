/**
 * Firebase App Check tokens, verified as Firebase documents for a custom backend: a JWT signed
 * RS256 (`typ` JWT) by one of App Check's public keys (its JWKS, fetched through the outbound
 * client and kept as its Cache-Control says), issued by
 * `https://firebaseappcheck.googleapis.com/<project number>`, with `projects/<project number>`
 * among its audiences, not expired, and — when APP_CHECK_APP_IDS names apps — from one of them
 * (`sub`). firebase-functions does this only for callable functions (`enforceAppCheck`); an
 * `onRequest` function has to do it itself.
 *
 * A route that `consume`s tokens takes each one once (replay protection, as limited-use tokens
 * are meant to be used): its SHA-256 is written to `appCheckTokens` until the token expires, and
 * a second request with it is refused, also when both come at the same moment (the store's
 * create is atomic).
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Logger } from 'winston';
import type { Config } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import { createOutboundClient, type OutboundClient } from '../outbound/client.ts';
import { EXPIRES_AT, createOnce, type DocumentStore } from '../store/port.ts';

export const APP_CHECK_TOKENS = 'appCheckTokens';

export interface AppCheckClaims {
  /** The Firebase app the token attests. */
  appId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface AppCheckVerifier {
  verify(token: string, options: { consume: boolean }): Promise<AppCheckClaims>;
}

const invalid = (reason: string) => new ApiError('app_check_invalid', { params: { reason } });

function readKeySet({ text }: { text: string }): JSONWebKeySet {
  const body = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(body.keys) || body.keys.length === 0) throw new Error('no keys in the key set');
  return body as JSONWebKeySet;
}

export function createAppCheckVerifier(
  config: Config['appCheck'],
  options: { store: DocumentStore; clockToleranceSeconds: number; logger?: Logger; client?: OutboundClient },
): AppCheckVerifier {
  const { projectNumber } = config;
  if (!projectNumber) throw new Error('App Check needs APP_CHECK_PROJECT_NUMBER');
  const client =
    options.client ?? createOutboundClient({ dependency: 'app-check-keys', unavailable: 'app_check_unavailable', ...(options.logger ? { logger: options.logger } : {}) });
  // One verifying key set per fetched key set: made again only when the client fetched anew.
  const keySets = new WeakMap<JSONWebKeySet, ReturnType<typeof createLocalJWKSet>>();
  const keys = async () => {
    const fetched = await client.get(config.jwksUrl, { read: readKeySet, cache: true });
    let keySet = keySets.get(fetched);
    if (!keySet) keySets.set(fetched, (keySet = createLocalJWKSet(fetched)));
    return keySet;
  };

  return {
    async verify(token, { consume }) {
      const keySet = await keys();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keySet, {
          algorithms: ['RS256'],
          typ: 'JWT',
          issuer: `https://firebaseappcheck.googleapis.com/${projectNumber}`,
          audience: `projects/${projectNumber}`,
          clockTolerance: options.clockToleranceSeconds,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw invalid('it has expired');
        if (error instanceof errors.JOSEError)
          throw invalid(error instanceof errors.JWTClaimValidationFailed ? `its ${error.claim} claim is wrong` : 'its signature or form is wrong');
        throw error;
      }
      const appId = payload.sub!;
      if (config.appIds.length > 0 && !config.appIds.includes(appId)) throw invalid('it is for an app this API does not serve');
      const expiresAt = payload.exp!;
      if (consume && !(await createOnce(options.store, APP_CHECK_TOKENS, createHash('sha256').update(token).digest('hex'), { appId, [EXPIRES_AT]: expiresAt * 1000 }))) {
        throw new ApiError('app_check_replayed');
      }
      return { appId, expiresAt };
    },
  };
}
