/**
 * Sessions: an access token (a JWT, short-lived) and a refresh token (opaque, random), the
 * refresh token stored only as its SHA-256. Each refresh token belongs to a family started
 * at login; using it rotates it (the old one is spent, a new one issued in the same family),
 * and the family ends 30 days after login whatever happens. Presenting a spent refresh token
 * means it was copied: the whole family is revoked, so the thief and the victim both sign in
 * again — unless it comes within the reuse interval (AUTH_REFRESH_REUSE_SECONDS) of its first use, as two tabs refreshing at
 * once do: then it gets the successor already issued (Supabase's REUSE_INTERVAL). Successors
 * are an HMAC of the token they replace, so the successor can be handed out again without
 * storing any token in the clear.
 *
 * A family started before the account turned MFA on (its `amr` lacks `mfa`) no longer
 * refreshes: turning MFA on must not leave password-only sessions running. A disabled account
 * (auth/account-status.ts) neither starts a session nor refreshes one: both read the account in
 * their transaction.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.ts';
import { ApiError } from '../errors/api-error.ts';
import { newDocumentId } from '../store/ids.ts';
import { queryAll, type DocumentStore } from '../store/port.ts';
import { getAccount, type Account } from './accounts.ts';
import { derivedKey } from './derived-keys.ts';
import { issueAccessToken } from './tokens.ts';

export const REFRESH_TOKENS = 'refreshTokens';
export const TOKEN_FAMILIES = 'tokenFamilies';
export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
/** How many successors one reuse follows (a tab that refreshed twice within the interval). */
const MAX_SUCCESSOR_STEPS = 4;

interface FamilyDocument {
  [field: string]: string | number | string[] | null;
  uid: string;
  amr: string[];
  /** Epoch seconds of the sign-in, for the `auth_time` claim. */
  authTime: number;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: number;
  /** When a refresh last used it (null, or absent in sessions from before it was kept: their sign-in counts). */
  lastUsedAt: string | null;
  /** The client address and User-Agent of its last use, for its owner's list (`listSessions`); absent in older sessions. */
  ip: string | null;
  userAgent: string | null;
}

/** Who is using a session: the address rate limits count (pipeline/client-ip.ts), and what the client calls itself. */
export interface SessionClient {
  ip: string;
  userAgent: string | undefined;
}

/** A User-Agent is the client's to write: kept short. */
const clientFields = (client: SessionClient) => ({ ip: client.ip, userAgent: client.userAgent?.slice(0, 256) ?? null });

interface RefreshTokenDocument {
  [field: string]: string | number | null;
  uid: string;
  familyId: string;
  usedAt: string | null;
  expiresAt: number;
}

export interface IssuedSession {
  /** The token family: what a cookie session and its CSRF token are bound to. */
  sessionId: string;
  /** Epoch ms at which the session ends, whatever happens. */
  expiresAt: number;
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export type RefreshOutcome =
  | { kind: 'rotated'; session: IssuedSession; account: Account }
  /** The token was spent before, longer ago than the reuse interval: its family is now revoked. */
  | { kind: 'reused'; uid: string; familyId: string }
  /** The family was started before the account turned MFA on: now revoked. */
  | { kind: 'stale'; uid: string; familyId: string }
  /** An admin disabled the account: the family is now revoked. */
  | { kind: 'disabled'; uid: string; familyId: string }
  | { kind: 'invalid' };

function hashOf(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('hex');
}

function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

function successorOf(auth: Config['auth'], refreshToken: string): string {
  return createHmac('sha256', derivedKey(auth, 'refresh successor v1')).update(refreshToken).digest('base64url');
}

async function accessTokenFor(auth: Config['auth'], account: Account, familyId: string, family: FamilyDocument, refreshToken: string): Promise<IssuedSession> {
  const accessToken = await issueAccessToken(auth, {
    sub: account.id,
    roles: account.roles,
    amr: family.amr,
    emailVerified: Boolean(account.emailVerifiedAt),
    authTime: family.authTime,
    sid: familyId,
  });
  return {
    sessionId: familyId,
    expiresAt: family.expiresAt,
    accessToken,
    tokenType: 'Bearer',
    expiresIn: auth.accessTokenTtlSeconds,
    refreshToken,
    refreshTokenExpiresAt: new Date(family.expiresAt).toISOString(),
  };
}

/** Starts a session (a new family) for an account that has just proven who it is; a disabled account is refused (403 account_disabled). */
export async function startSession(store: DocumentStore, auth: Config['auth'], account: Account, amr: string[], client: SessionClient): Promise<IssuedSession> {
  const now = Date.now();
  const familyId = newDocumentId();
  const family: FamilyDocument = {
    uid: account.id,
    amr,
    authTime: Math.floor(now / 1000),
    createdAt: new Date(now).toISOString(),
    lastUsedAt: new Date(now).toISOString(),
    ...clientFields(client),
    revokedAt: null,
    expiresAt: now + SESSION_LIFETIME_MS,
  };
  const refreshToken = newRefreshToken();
  await store.runTransaction(async (tx) => {
    const current = await getAccount(tx, account.id);
    if (!current) throw new ApiError('invalid_credentials'); // deleted while signing in
    if (current.disabled) throw new ApiError('account_disabled');
    tx.create(TOKEN_FAMILIES, familyId, family);
    tx.create(REFRESH_TOKENS, hashOf(refreshToken), { uid: account.id, familyId, usedAt: null, expiresAt: family.expiresAt });
  });
  return accessTokenFor(auth, account, familyId, family, refreshToken);
}

/**
 * Spends a refresh token and issues the next one, with an access token carrying the account's
 * roles as they are now (so role changes take effect on the next refresh).
 */
export async function refreshSession(
  store: DocumentStore,
  auth: Config['auth'],
  refreshToken: string,
  client: SessionClient,
  /** From a session cookie: the refresh token must belong to this session. */
  expectedSessionId?: string,
): Promise<RefreshOutcome> {
  const outcome = await store.runTransaction(async (tx) => {
    const id = hashOf(refreshToken);
    const token = await tx.get<RefreshTokenDocument>(REFRESH_TOKENS, id);
    if (!token || (expectedSessionId !== undefined && token.familyId !== expectedSessionId)) return { kind: 'invalid' as const };
    const family = await tx.get<FamilyDocument>(TOKEN_FAMILIES, token.familyId);
    if (!family || family.revokedAt !== null) return { kind: 'invalid' as const };
    const revoke = <K extends 'reused' | 'stale' | 'disabled'>(kind: K) => {
      tx.update(TOKEN_FAMILIES, token.familyId, { revokedAt: new Date().toISOString() });
      return { kind, uid: token.uid, familyId: token.familyId };
    };
    const account = await getAccount(tx, token.uid);
    if (!account) return { kind: 'invalid' as const };
    if (account.disabled) return revoke('disabled');
    if (account.mfa && !family.amr.includes('mfa')) return revoke('stale');
    const rotated = { kind: 'rotated' as const, account, family, familyId: token.familyId };
    if (token.usedAt === null) {
      const next = successorOf(auth, refreshToken);
      const now = new Date().toISOString();
      tx.update(REFRESH_TOKENS, id, { usedAt: now });
      tx.update(TOKEN_FAMILIES, token.familyId, { lastUsedAt: now, ...clientFields(client) });
      tx.create(REFRESH_TOKENS, hashOf(next), { uid: token.uid, familyId: token.familyId, usedAt: null, expiresAt: family.expiresAt });
      return { ...rotated, refreshToken: next };
    }
    // Spent already: within the interval, answer with the live successor (the other tab's).
    let spent = { token: refreshToken, usedAt: token.usedAt };
    for (let step = 0; step < MAX_SUCCESSOR_STEPS && Date.now() - Date.parse(spent.usedAt) <= auth.refreshReuseIntervalMs; step += 1) {
      const successor = successorOf(auth, spent.token);
      const stored = await tx.get<RefreshTokenDocument>(REFRESH_TOKENS, hashOf(successor));
      if (!stored || stored.familyId !== token.familyId) break;
      if (stored.usedAt === null) return { ...rotated, refreshToken: successor };
      spent = { token: successor, usedAt: stored.usedAt };
    }
    return revoke('reused');
  });
  if (outcome.kind !== 'rotated') return outcome;
  const session = await accessTokenFor(auth, outcome.account, outcome.familyId, outcome.family, outcome.refreshToken);
  return { kind: 'rotated', account: outcome.account, session };
}

/**
 * Whether a browser's session cookie still names a live session: its refresh token belongs to
 * that family, the family is not revoked, and the token is unspent (or spent within the reuse
 * interval, so another tab's refresh does not make this one look signed out).
 */
export async function isLiveSession(store: DocumentStore, auth: Config['auth'], sessionId: string, refreshToken: string): Promise<boolean> {
  const token = await store.get<RefreshTokenDocument>(REFRESH_TOKENS, hashOf(refreshToken));
  if (!token || token.familyId !== sessionId) return false;
  if (token.usedAt !== null && Date.now() - Date.parse(token.usedAt) > auth.refreshReuseIntervalMs) return false;
  const family = await store.get<FamilyDocument>(TOKEN_FAMILIES, sessionId);
  return family !== null && family.revokedAt === null;
}

/** Revokes every live session of the account but `keep` (the one making the change). Returns how many ended. */
export async function endOtherSessions(store: DocumentStore, uid: string, keep: string | undefined): Promise<number> {
  const live = (await queryAll<FamilyDocument>(store, TOKEN_FAMILIES, { uid })).filter((family) => family.id !== keep && family.data.revokedAt === null);
  await Promise.all(live.map((family) => store.update(TOKEN_FAMILIES, family.id, { revokedAt: new Date().toISOString() })));
  return live.length;
}

/** Records that the session has just proven more (MFA turned on with a code): its next tokens say so. */
export async function strengthenSession(store: DocumentStore, sessionId: string, amr: string[]): Promise<void> {
  await store.update(TOKEN_FAMILIES, sessionId, { amr, authTime: Math.floor(Date.now() / 1000) });
}

/** Ends the session the refresh token belongs to. Unknown tokens are ignored (nothing to end). */
export async function endSession(store: DocumentStore, refreshToken: string): Promise<void> {
  await store.runTransaction(async (tx) => {
    const token = await tx.get<RefreshTokenDocument>(REFRESH_TOKENS, hashOf(refreshToken));
    if (!token) return;
    const family = await tx.get<FamilyDocument>(TOKEN_FAMILIES, token.familyId);
    if (family && family.revokedAt === null) tx.update(TOKEN_FAMILIES, token.familyId, { revokedAt: new Date().toISOString() });
  });
}

/** A live session as its owner sees it in the list. */
export interface SessionSummary {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  ip: string | null;
  userAgent: string | null;
  /** Whether it signed in with a second factor. */
  mfa: boolean;
}

/** The account's live sessions, most recently used first. */
export async function listSessions(store: DocumentStore, uid: string): Promise<SessionSummary[]> {
  return (await queryAll<FamilyDocument>(store, TOKEN_FAMILIES, { uid }))
    .filter(({ data }) => data.revokedAt === null)
    .map(({ id, data }) => ({
      id,
      createdAt: data.createdAt,
      lastUsedAt: data.lastUsedAt ?? data.createdAt,
      ip: data.ip ?? null,
      userAgent: data.userAgent ?? null,
      mfa: data.amr.includes('mfa'),
    }))
    .sort((a, b) => b.lastUsedAt.localeCompare(a.lastUsedAt));
}

/** Ends one live session of the account; false when it has none by that id. */
export async function endSessionOf(store: DocumentStore, uid: string, sessionId: string): Promise<boolean> {
  return store.runTransaction(async (tx) => {
    const family = await tx.get<FamilyDocument>(TOKEN_FAMILIES, sessionId);
    if (!family || family.uid !== uid || family.revokedAt !== null) return false;
    tx.update(TOKEN_FAMILIES, sessionId, { revokedAt: new Date().toISOString() });
    return true;
  });
}
