/**
 * The stored audit log: security events written to `auditEvents` as well as logged — what
 * happened, who did it (actor), to which account (subject), from which client address, in which
 * request, when — and kept for AUDIT_RETENTION_DAYS (Firestore's TTL on `expiresAt`). Admins read
 * it at GET /auth/audit, by account and by kind, newest first. An event is written before the
 * request answers: a store that cannot take it fails the request (503) rather than lose it.
 */
import { newDocumentId } from '../store/ids.ts';
import { EXPIRES_AT, type DocumentStore, type Page } from '../store/port.ts';

export const AUDIT_EVENTS = 'auditEvents';
export const AUDIT_RETENTION_DAYS = 180;

export const AUDIT_KINDS = [
  'sign_in',
  'sign_in_locked',
  'mfa_enabled',
  'mfa_disabled',
  'password_changed',
  'password_reset',
  'email_changed',
  'roles_changed',
  'refresh_token_reuse',
  'sessions_ended',
  'account_deleted',
  'sign_in_refused',
  'accounts_viewed',
  'account_disabled',
  'account_enabled',
  'account_signed_out',
  'service_credential_created',
  'service_credential_rotated',
  'service_credential_revoked',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEvent {
  [field: string]: string | number | null;
  kind: AuditKind;
  /** Who did it: the account signed in, or null (a sign-in attempt by nobody known yet). */
  actorId: string | null;
  /** The account it was done to, if one is known. */
  subjectId: string | null;
  ip: string;
  requestId: string;
  /** What else the kind says (the new roles, the sessions ended…), as JSON text. */
  details: string | null;
  at: string;
  expiresAt: number;
}

export interface AuditEntry {
  kind: AuditKind;
  actorId: string | null;
  subjectId: string | null;
  ip: string;
  requestId: string;
  details?: Record<string, unknown>;
}

export async function recordAudit(store: DocumentStore, entry: AuditEntry, now = Date.now()): Promise<void> {
  const event: AuditEvent = {
    kind: entry.kind,
    actorId: entry.actorId,
    subjectId: entry.subjectId,
    ip: entry.ip,
    requestId: entry.requestId,
    details: entry.details === undefined ? null : JSON.stringify(entry.details),
    at: new Date(now).toISOString(),
    [EXPIRES_AT]: now + AUDIT_RETENTION_DAYS * 24 * 3_600_000,
  };
  await store.create(AUDIT_EVENTS, newDocumentId(), event);
}

export interface AuditQuery {
  subjectId?: string | undefined;
  kind?: AuditKind | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** A page of events, newest first, of one account and/or one kind (each filter has its index: firestore.indexes.json). */
export function queryAudit(store: DocumentStore, query: AuditQuery): Promise<Page<AuditEvent>> {
  const where: Record<string, string> = {};
  if (query.subjectId !== undefined) where.subjectId = query.subjectId;
  if (query.kind !== undefined) where.kind = query.kind;
  return store.query<AuditEvent>(AUDIT_EVENTS, { where, orderBy: { field: 'at', direction: 'desc' }, limit: query.limit, cursor: query.cursor });
}
