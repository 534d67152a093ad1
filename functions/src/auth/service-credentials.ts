/**
 * Service credentials: how servers and jobs call the API with no user's token. An admin creates
 * one (a name and roles of its own); its secret is shown once and kept only sealed
 * (auth/sealed-secrets.ts) — an HMAC is checked with the secret itself, so it cannot be kept as a
 * one-way hash the way a password is; sealed, a copy of the database signs nothing. Each request
 * is signed (auth/request-signing.ts) and verified here: a known, live key; a timestamp within
 * SIGNATURE_WINDOW_SECONDS of now; the signature of one of its live secrets; and never the same
 * signature twice (each is remembered in `requestSignatures` until its window has passed).
 *
 * Rotation issues a new secret and keeps the previous one working for an overlap (a day by
 * default), so callers move over without a failed request; revoking ends every secret at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config, Role } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import type { Principal } from '../pipeline/inputs.ts';
import { newDocumentId } from '../store/ids.ts';
import { EXPIRES_AT, createOnce, queryAll, type DocumentStore } from '../store/port.ts';
import { signature, type SignedParts } from './request-signing.ts';
import { SealedSecrets } from './sealed-secrets.ts';

export const SERVICE_CREDENTIALS = 'serviceCredentials';
export const REQUEST_SIGNATURES = 'requestSignatures';
/** How far a request's timestamp may be from the server's clock, either way (Stripe's tolerance). */
export const SIGNATURE_WINDOW_SECONDS = 300;
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
/** Principals of service credentials: their subject, so no account id is ever mistaken for one. */
export const SERVICE_SUBJECT_PREFIX = 'service:';

interface StoredSecret {
  [field: string]: string | number | null;
  sealed: string;
  createdAt: string;
  /** Epoch ms after which it no longer signs (the overlap after a rotation); null while it is the current one. */
  retiresAt: number | null;
}

interface CredentialDocument {
  [field: string]: string | string[] | StoredSecret[] | null;
  name: string;
  roles: Role[];
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  secrets: StoredSecret[];
}

/** A credential as admins see it: never a secret. */
export interface CredentialView {
  keyId: string;
  name: string;
  roles: Role[];
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  /** When the previous secret stops signing, during a rotation's overlap. */
  previousSecretRetiresAt: string | null;
}

const newSecret = () => randomBytes(32).toString('base64url');

function viewOf(keyId: string, credential: CredentialDocument, now = Date.now()): CredentialView {
  const retiring = credential.secrets.filter((secret) => secret.retiresAt !== null && secret.retiresAt > now).map((secret) => secret.retiresAt!);
  return {
    keyId,
    name: credential.name,
    roles: credential.roles,
    createdAt: credential.createdAt,
    createdBy: credential.createdBy,
    revokedAt: credential.revokedAt,
    previousSecretRetiresAt: retiring.length > 0 ? new Date(Math.max(...retiring)).toISOString() : null,
  };
}

const sealers = new WeakMap<object, SealedSecrets>();
function sealerFor(auth: Config['auth']): SealedSecrets {
  let sealer = sealers.get(auth.totpKeys);
  if (!sealer) {
    sealer = new SealedSecrets(auth.totpKeys, {
      purpose: 'bastion service credential',
      what: "the service credential's secret",
      error: (message, options) => new Error(message, options),
    });
    sealers.set(auth.totpKeys, sealer);
  }
  return sealer;
}

export async function createCredential(
  store: DocumentStore,
  auth: Config['auth'],
  { name, roles, createdBy }: { name: string; roles: Role[]; createdBy: string },
): Promise<{ credential: CredentialView; secret: string }> {
  const keyId = newDocumentId();
  const secret = newSecret();
  const now = new Date().toISOString();
  const document: CredentialDocument = {
    name,
    roles,
    createdAt: now,
    createdBy,
    revokedAt: null,
    secrets: [{ sealed: sealerFor(auth).seal(keyId, secret), createdAt: now, retiresAt: null }],
  };
  await store.create(SERVICE_CREDENTIALS, keyId, document);
  return { credential: viewOf(keyId, document), secret };
}

export async function listCredentials(store: DocumentStore): Promise<CredentialView[]> {
  return (await queryAll<CredentialDocument>(store, SERVICE_CREDENTIALS, {})).map(({ id, data }) => viewOf(id, data)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** A new current secret; the old one signs on for `overlapSeconds`. Null for no such live credential. */
export async function rotateCredential(
  store: DocumentStore,
  auth: Config['auth'],
  keyId: string,
  overlapSeconds: number,
): Promise<{ credential: CredentialView; secret: string } | null> {
  const secret = newSecret();
  return store.runTransaction(async (tx) => {
    const credential = await tx.get<CredentialDocument>(SERVICE_CREDENTIALS, keyId);
    if (!credential || credential.revokedAt !== null) return null;
    const now = Date.now();
    const retiresAt = now + overlapSeconds * 1000;
    // Only the secret that was current overlaps; one still overlapping from before retires now.
    const secrets: StoredSecret[] = [
      { sealed: sealerFor(auth).seal(keyId, secret), createdAt: new Date(now).toISOString(), retiresAt: null },
      ...credential.secrets.filter((stored) => stored.retiresAt === null).map((stored) => ({ ...stored, retiresAt })),
    ];
    tx.update(SERVICE_CREDENTIALS, keyId, { secrets });
    return { credential: viewOf(keyId, { ...credential, secrets }, now), secret };
  });
}

/** Ends every secret of the credential at once; false for no such live credential. */
export async function revokeCredential(store: DocumentStore, keyId: string): Promise<boolean> {
  return store.runTransaction(async (tx) => {
    const credential = await tx.get<CredentialDocument>(SERVICE_CREDENTIALS, keyId);
    if (!credential || credential.revokedAt !== null) return false;
    tx.update(SERVICE_CREDENTIALS, keyId, { revokedAt: new Date().toISOString(), secrets: [] });
    return true;
  });
}

const invalidSignature = (reason: string) => new ApiError('signature_invalid', { params: { reason } });

/**
 * The principal a signed request speaks for, or the refusal: 401 signature_invalid (unknown or
 * revoked key, wrong signature), signature_expired, signature_replayed.
 */
export async function verifySignedRequest(store: DocumentStore, auth: Config['auth'], keyId: string, presented: string, parts: SignedParts, now = Date.now()): Promise<Principal> {
  if (Math.abs(now / 1000 - parts.timestamp) > SIGNATURE_WINDOW_SECONDS) throw new ApiError('signature_expired', { params: { seconds: SIGNATURE_WINDOW_SECONDS } });
  const credential = await store.get<CredentialDocument>(SERVICE_CREDENTIALS, keyId);
  if (!credential || credential.revokedAt !== null) throw invalidSignature('the key is unknown or revoked');
  const sealer = sealerFor(auth);
  const given = Buffer.from(presented, 'hex');
  const opened = credential.secrets
    .filter((secret) => secret.retiresAt === null || secret.retiresAt > now)
    .map((secret) => {
      try {
        return sealer.open(keyId, secret.sealed);
      } catch {
        return undefined; // sealed under a key AUTH_TOTP_KEYS no longer holds: it signs nothing (rotate the credential)
      }
    })
    .filter((secret) => secret !== undefined);
  if (opened.length === 0) throw invalidSignature('the key has no secret this server can read: rotate it');
  const matches = opened.some((secret) => {
    const expected = Buffer.from(signature(secret, parts), 'hex');
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!matches) throw invalidSignature('the signature does not match the request');
  const seen = createHash('sha256').update(`${keyId}|${presented}`).digest('hex');
  if (!(await createOnce(store, REQUEST_SIGNATURES, seen, { keyId, [EXPIRES_AT]: (parts.timestamp + SIGNATURE_WINDOW_SECONDS) * 1000 }))) {
    throw new ApiError('signature_replayed');
  }
  return { subject: `${SERVICE_SUBJECT_PREFIX}${keyId}`, roles: credential.roles, mfa: false, emailVerified: true, authTime: undefined, sessionId: undefined };
}
