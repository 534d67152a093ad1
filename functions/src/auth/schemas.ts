/** What clients may send to the auth routes. Everything else is refused, not ignored. */
import { z } from 'zod';
import { ROLES } from '../config/index.ts';
import { DOCUMENT_ID_PATTERN } from '../store/ids.ts';
import { AUDIT_KINDS } from './audit.ts';

/**
 * Emails are compared in one form: trimmed, NFC, lower case. (The local part may be
 * case-sensitive by RFC 5321; no mail provider people use treats it so, and two accounts that
 * differ only by case would be a trap.)
 */
export const email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .meta({ format: 'email', examples: ['ada@example.com'] })
  .transform((value) => value.normalize('NFC').toLowerCase())
  .pipe(z.email('must be an email address'));

/** Bounded so nobody makes the server hash megabytes; the policy itself is judged on register. */
const password = z
  .string()
  .min(1, 'is required')
  .max(1024, 'is too long')
  .meta({ examples: ['correct-horse-battery-staple-1815'] });

/** How the client keeps its session: refresh token in the JSON (apps), or in a cookie (browsers). */
const transport = z.enum(['token', 'cookie']).default('token');

export const registerBody = z.strictObject({ email, password });
/** A device token from an earlier sign-in of this account (see auth/device-tokens.ts). */
const deviceToken = z.string().max(128).meta({ description: 'The deviceToken an earlier sign-in of this account answered' });

export const loginBody = z.strictObject({ email, password, session: transport, deviceToken: deviceToken.optional() });

/** 32 random bytes, base64url: exactly 43 characters. */
const opaqueToken = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, `must be ${what}`)
    .meta({ examples: ['q5tV0pX9yZ2aB4cD6eF8gH1iJ3kL5mN7oP9rS1uW3xY'] });

/** Apps send the refresh token; a browser with a cookie session sends `{}`. */
export const refreshBody = z.strictObject({ refreshToken: opaqueToken('a refresh token').optional() });

const totpCode = z
  .string()
  .regex(/^\d{6}$/, 'must be the 6-digit code from your authenticator app')
  .meta({ examples: ['123456'] });

export const mfaCodeBody = z.strictObject({ code: totpCode });

/** The token of a verification link (its `token` parameter). */
export const verifyEmailBody = z.strictObject({ token: opaqueToken('the token of a confirmation link') });

/** A second factor: a code from the authenticator app, or a recovery code. */
const secondFactor = {
  code: totpCode.optional(),
  recoveryCode: z.string().min(8).max(64).optional(),
};

export const mfaVerifyBody = z
  .strictObject({ challenge: opaqueToken('the challenge login gave'), ...secondFactor, session: transport })
  .refine((body) => (body.code === undefined) !== (body.recoveryCode === undefined), 'give either code or recoveryCode')
  .meta({ oneOf: [{ required: ['code'] }, { required: ['recoveryCode'] }] });

export const forgotPasswordBody = z.strictObject({ email });

/** Changes to how the account signs in name the current password, unless the session has a fresh MFA sign-in. */
export const changePasswordBody = z.strictObject({ currentPassword: password.optional(), newPassword: password });
export const changeEmailBody = z.strictObject({ newEmail: email, currentPassword: password.optional() });
export const deleteAccountBody = z.strictObject({ currentPassword: password.optional() });
export const confirmEmailChangeBody = z.strictObject({ token: opaqueToken('the token of the link mailed to the new address') });

export const resetPasswordBody = z
  .strictObject({ token: opaqueToken('the token of a reset link'), password, ...secondFactor })
  .refine((body) => body.code === undefined || body.recoveryCode === undefined, 'give code or recoveryCode, not both');

export const userParams = z.strictObject({
  uid: z
    .string()
    .regex(DOCUMENT_ID_PATTERN, 'must be a user id (20 letters and digits)')
    .meta({ examples: ['Jx3kQ9mZp2LrT8vWc4Yb'] }),
});

export const sessionParams = z.strictObject({
  id: z
    .string()
    .regex(DOCUMENT_ID_PATTERN, 'must be a session id (20 letters and digits)')
    .meta({ examples: ['Jx3kQ9mZp2LrT8vWc4Yb'] }),
});

export const auditLogQuery = z.strictObject({
  user: z.string().regex(DOCUMENT_ID_PATTERN, 'must be a user id (20 letters and digits)').optional(),
  kind: z.enum(AUDIT_KINDS).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

/** Admins' list of accounts: newest first, or the one account with an address (the store filters by equality: search is exact). */
export const usersQuery = z.strictObject({
  email: email.optional().meta({ description: 'Only the account with this address (exact, compared as sign-in compares it)' }),
  status: z.enum(['disabled']).optional().meta({ description: 'Only disabled accounts' }),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

const keyId = z
  .string()
  .regex(DOCUMENT_ID_PATTERN, 'must be a key id (20 letters and digits)')
  .meta({ examples: ['Kq8mZp2LrT8vWc4YbJx3'] });

export const credentialParams = z.strictObject({ keyId });

export const createCredentialBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .meta({ description: 'What calls with it, for people', examples: ['nightly export job'] }),
  roles: z
    .array(z.enum(ROLES))
    .min(1, 'give at least one role')
    .max(ROLES.length)
    .transform((roles) => ROLES.filter((role) => roles.includes(role))),
});

export const rotateCredentialBody = z.strictObject({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .default(24 * 3600)
    .meta({ description: 'How long the previous secret keeps signing (default a day, at most a week)' }),
});

export const setRolesBody = z.strictObject({
  roles: z
    .array(z.enum(ROLES))
    .min(1, 'give at least one role')
    .max(ROLES.length)
    .transform((roles) => ROLES.filter((role) => roles.includes(role))),
});

export type Credentials = z.output<typeof registerBody>;
export type Login = z.output<typeof loginBody>;
export type RefreshRequest = z.output<typeof refreshBody>;
export type SetRoles = z.output<typeof setRolesBody>;
export type MfaCode = z.output<typeof mfaCodeBody>;
export type MfaVerify = z.output<typeof mfaVerifyBody>;
export type VerifyEmail = z.output<typeof verifyEmailBody>;
export type ForgotPassword = z.output<typeof forgotPasswordBody>;
export type ChangePassword = z.output<typeof changePasswordBody>;
export type ChangeEmail = z.output<typeof changeEmailBody>;
export type ConfirmEmailChange = z.output<typeof confirmEmailChangeBody>;
export type DeleteAccount = z.output<typeof deleteAccountBody>;
export type AuditLogQuery = z.output<typeof auditLogQuery>;
export type UsersQuery = z.output<typeof usersQuery>;
export type CreateCredential = z.output<typeof createCredentialBody>;
export type RotateCredential = z.output<typeof rotateCredentialBody>;
export type ResetPasswordRequest = z.output<typeof resetPasswordBody>;

/** What the auth routes answer. */
export const accountResponse = z
  .object({
    id: z.string(),
    email: z.string(),
    /** Whether the owner confirmed the address; until then the account may sign in and read, not write. */
    emailVerified: z.boolean(),
    roles: z.array(z.enum(ROLES)),
    mfaEnabled: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Account' });

export const userResponse = z.object({ user: accountResponse }).meta({ id: 'AccountResponse' });

/** The same answer whether or not the address had an account: a mail is on its way either way. */
export const registrationResponse = z
  .object({ accepted: z.literal(true), email: z.string().meta({ description: 'Where the mail goes: a confirmation link for a new account, a notice for an existing one' }) })
  .meta({ id: 'RegistrationAccepted' });

export const verificationSentResponse = z.object({ email: z.string() }).meta({ id: 'VerificationSent' });

/** The same answer whether or not the new address has an account. */
export const emailChangeRequestedResponse = z
  .object({ accepted: z.literal(true), email: z.string().meta({ description: 'The new address, where the confirmation link goes' }) })
  .meta({ id: 'EmailChangeRequested' });

/** The same answer whether or not the address has an account. */
export const resetRequestedResponse = z
  .object({ accepted: z.literal(true), email: z.string().meta({ description: 'Where a reset link goes, if the address has an account' }) })
  .meta({ id: 'ResetRequested' });

export const sessionResponse = z
  .object({
    accessToken: z.string(),
    tokenType: z.literal('Bearer'),
    /** Seconds the access token lives. */
    expiresIn: z.number().int(),
    /** Apps only: browsers with `"session": "cookie"` get it in the HttpOnly cookie instead. */
    refreshToken: z.string().optional(),
    refreshTokenExpiresAt: z.iso.datetime(),
    /** Cookie sessions only: send it as X-CSRF-Token. */
    csrfToken: z.string().optional(),
    user: accountResponse,
    /** After signing in with a recovery code. */
    recoveryCodesLeft: z.number().int().optional(),
    /** After a sign-in: keep it and send it with the next logins of this account, so lockouts aimed at strangers spare this device. */
    deviceToken: z.string().optional(),
  })
  .meta({ id: 'Session' });

export const mfaChallengeResponse = z.object({ mfaRequired: z.literal(true), challenge: z.string(), expiresIn: z.number().int() }).meta({ id: 'MfaChallenge' });

export const loginResponse = z.union([sessionResponse, mfaChallengeResponse]).meta({ id: 'LoginResult' });

export const csrfTokenResponse = z
  .object({ session: z.boolean(), csrfToken: z.string().optional().meta({ description: 'When there is a session: send it as X-CSRF-Token' }) })
  .meta({ id: 'BrowserSession' });

export const jwksResponse = z.object({ keys: z.array(z.object({ kty: z.string(), kid: z.string() }).catchall(z.unknown())) }).meta({ id: 'JsonWebKeySet' });

export const webConfigResponse = z
  .object({
    firebase: z
      .object({
        apiKey: z.string().meta({ description: "the project's Web API key (public: it names the project, it grants nothing)" }),
        projectId: z.string(),
        identityToolkitUrl: z.url().meta({ description: 'Firebase Auth: accounts:signInWithPassword under it' }),
        secureTokenUrl: z.url().meta({ description: 'Firebase Auth: new ID tokens for a refresh token (token under it)' }),
      })
      .nullable()
      .meta({ description: 'how the page signs Firebase users in; null: this deployment offers no Firebase sign-in' }),
  })
  .meta({ id: 'WebConfig' });

export const mfaEnrollmentResponse = z
  .object({ secret: z.string(), otpauthUri: z.string(), qrCode: z.string().meta({ description: 'a data: URL of a PNG' }) })
  .meta({ id: 'MfaEnrollment' });

export const recoveryCodesResponse = z.object({ mfaEnabled: z.literal(true), recoveryCodes: z.array(z.string()) }).meta({ id: 'MfaActivated' });

const sessionSummary = z.object({
  id: z.string(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime(),
  ip: z.string().nullable().meta({ description: 'The client address of its last use (an IPv6 client as its /64)' }),
  device: z.string().meta({ description: 'The client, named from its User-Agent: "Chrome 131 on Linux"' }),
  mfa: z.boolean().meta({ description: 'Signed in with a second factor' }),
});

export const sessionsResponse = z
  .object({ sessions: z.array(sessionSummary.extend({ current: z.boolean().meta({ description: 'The session this request belongs to' }) })) })
  .meta({ id: 'Sessions' });

/** An account as admins see it. */
export const adminAccountResponse = accountResponse
  .extend({
    disabled: z.boolean().meta({ description: 'Disabled by an admin: no sign-in, no refresh' }),
    disabledAt: z.iso.datetime().nullable(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'AdminAccount' });

export const usersResponse = z.object({ users: z.array(adminAccountResponse), nextCursor: z.string().nullable() }).meta({ id: 'Accounts' });

export const userDetailResponse = z.object({ user: adminAccountResponse, sessions: z.array(sessionSummary) }).meta({ id: 'AccountWithSessions' });

export const adminUserResponse = z.object({ user: adminAccountResponse }).meta({ id: 'AdminAccountResponse' });

const credentialView = z
  .object({
    keyId: z.string(),
    name: z.string(),
    roles: z.array(z.enum(ROLES)),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
    revokedAt: z.iso.datetime().nullable(),
    previousSecretRetiresAt: z.iso.datetime().nullable().meta({ description: 'During a rotation: when the previous secret stops signing' }),
  })
  .meta({ id: 'ServiceCredential' });

export const credentialWithSecretResponse = z
  .object({ credential: credentialView, secret: z.string().meta({ description: 'Shown this once: only its sealed form is kept' }) })
  .meta({ id: 'ServiceCredentialSecret' });

export const credentialsResponse = z.object({ credentials: z.array(credentialView) }).meta({ id: 'ServiceCredentials' });

export const accountDisabledResponse = z
  .object({ user: adminAccountResponse, sessionsEnded: z.number().int().meta({ description: 'How many of its sessions this ended' }) })
  .meta({ id: 'AccountDisabled' });

export const accountExportResponse = z
  .object({
    exportedAt: z.iso.datetime(),
    account: z.object({}).catchall(z.unknown()).meta({ description: 'The account as GET /auth/me shows it, and when it last changed' }),
    items: z.array(z.object({ id: z.string() }).catchall(z.unknown())),
    uploads: z.array(z.object({ id: z.string() }).catchall(z.unknown()).meta({ description: 'Metadata; the bytes are at GET /uploads/{id}/content' })),
    sessions: z.array(z.object({ id: z.string() }).catchall(z.unknown())),
  })
  .meta({ id: 'AccountExport' });

export const accountDeletedResponse = z
  .object({ deleted: z.object({ uploads: z.number().int(), items: z.number().int(), sessions: z.number().int(), documents: z.number().int() }) })
  .meta({ id: 'AccountDeleted' });

export const auditLogResponse = z
  .object({
    events: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(AUDIT_KINDS),
        actorId: z.string().nullable(),
        subjectId: z.string().nullable(),
        ip: z.string(),
        requestId: z.string(),
        details: z.unknown(),
        at: z.iso.datetime(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'AuditLog' });

export const sessionsEndedResponse = z.object({ ended: z.number().int() }).meta({ id: 'SessionsEnded' });

export const mfaStatusResponse = z.object({ mfaEnabled: z.boolean() }).meta({ id: 'MfaStatus' });
