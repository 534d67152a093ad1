/**
 * The auth function's handlers: JWKS, register and email verification, login, refresh, logout,
 * me, the account's own security and data, MFA, and admins' management of accounts.
 * Login answers an unknown email exactly as a wrong password, in about the same time (the
 * password is checked against a decoy hash), so it cannot be used to find accounts.
 */
import { ApiError, RateLimitedError } from '../errors/api-error.ts';
import type { MailMessage } from '../mail/port.ts';
import { renderMail, type MailKind, type TemplateValues } from '../mail/templates.ts';
import type { HandlerInput, Reply } from '../pipeline/route.ts';
import { judged, loginGuardFor, mfaGuardFor } from './brute-force.ts';
import { deviceOf, issueDeviceToken } from './device-tokens.ts';
import { adminView, createAccount, findAccountByEmail, getAccount, listAccounts, publicAccount, USERS, type Account, type UserDocument } from './accounts.ts';
import { disableAccount, enableAccount } from './account-status.ts';
import { createCredential, listCredentials, revokeCredential, rotateCredential } from './service-credentials.ts';
import { judgePassword } from './password-policy.ts';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { answerChallenge, challengeOwner, createChallenge } from './challenges.ts';
import { CHALLENGE_TTL_SECONDS, checkTotp, matchingStep, newRecoveryCodes, newTotpSecret, otpauthUri, qrCodeDataUrl } from './mfa.ts';
import { setRoles } from './roles.ts';
import { totpSecretsFor } from './totp-secrets.ts';
import { deleteAccount, exportAccount } from './account-data.ts';
import { queryAudit, recordAudit, type AuditKind } from './audit.ts';
import { csrfTokenFor } from './csrf.ts';
import { deviceName } from './devices.ts';
import { EMAIL_VERIFICATION, confirmEmail, verificationLink } from './email-verification.ts';
import { createLinkToken } from './link-tokens.ts';
import { mailLimitsFor } from './mail-limits.ts';
import { PASSWORD_RESET, resetLink, resetLinkOwner, resetPassword } from './password-reset.ts';
import { EMAIL_CHANGE, NEW_EMAIL, confirmEmailChange, emailChangeLink } from './email-change.ts';
import type {
  ChangeEmail,
  ChangePassword,
  ConfirmEmailChange,
  CreateCredential,
  Credentials,
  AuditLogQuery,
  DeleteAccount,
  ForgotPassword,
  Login,
  MfaCode,
  MfaVerify,
  RefreshRequest,
  ResetPasswordRequest,
  RotateCredential,
  SetRoles,
  UsersQuery,
  VerifyEmail,
} from './schemas.ts';
import { clearedSessionCookie, sessionCookie } from './session-cookie.ts';
import {
  endOtherSessions,
  endSession,
  endSessionOf,
  isLiveSession,
  listSessions,
  refreshSession,
  startSession,
  strengthenSession,
  type IssuedSession,
  type SessionClient,
} from './sessions.ts';

/**
 * A password the policy accepts for the account at `email` and, when the check is on, not known
 * from a breach; or 400 weak_password with the reason and suggestions.
 */
async function requireStrongPassword(services: Services, password: string, email: string): Promise<void> {
  const verdict = await judgePassword(password, [email]);
  if (!verdict.ok) throw new ApiError('weak_password', { params: { reason: verdict.reason }, details: { suggestions: verdict.suggestions } });
  const seen = await (await services.breachedPasswords()).timesSeen(password);
  if (seen > 0) {
    throw new ApiError('weak_password', {
      params: { reason: `This password has appeared in data breaches (${seen.toLocaleString('en')} times), so attackers try it first.` },
      details: { suggestions: ['Choose a password you have not used anywhere else.'], breached: true },
    });
  }
}

/** A signed-in route's input. */
type Input<B> = HandlerInput<unknown, unknown, B>;
/** A public route's: no principal to rely on. */
type PublicInput<B> = HandlerInput<unknown, unknown, B, undefined | Input<B>['principal']>;

/** Publishes the public halves of every accepted signing key (current and previous). */
export async function jwks({ services }: PublicInput<unknown>): Promise<Reply> {
  return { status: 200, body: { keys: services.auth.keys.verification } };
}

/** What the web app needs before anyone signs in: whether, and how, it signs Firebase users in. */
export async function webConfig({ services }: PublicInput<unknown>): Promise<Reply> {
  return { status: 200, body: { firebase: services.firebaseWebSignIn } };
}

/**
 * The same answer (202, same body) whether or not the address has an account, in about the same
 * time: the password is judged and hashed either way, one transaction runs, and one mail goes —
 * a confirmation link to a new account, a notice to the owner of an existing one.
 */
export async function register({ body, services, log }: PublicInput<Credentials>): Promise<Reply> {
  await requireStrongPassword(services, body.password, body.email);
  const passwordHash = await hashPassword(body.password);
  let token = '';
  const account = await createAccount(services.store, body.email, passwordHash, {
    alsoWrite: (tx, created) => (token = createLinkToken(tx, EMAIL_VERIFICATION, created.id, created.email)),
  });
  if (account) {
    log.info('account created', { event: 'account.created', userId: account.id });
    const { message, link } = verificationMail(services, account.email, token);
    await mailWithinLimits(services, log, 'verify-email', message, link);
  } else {
    log.info('registration for an address that has an account', { event: 'account.registration_existing' });
    const mail = renderMail('registration-attempt', body.email, { signInLink: `${services.appUrl}/#/login`, resetLink: `${services.appUrl}/#/forgot-password` });
    await mailWithinLimits(services, log, 'registration-attempt', mail);
  }
  return { status: 202, body: { accepted: true, email: body.email } };
}

/**
 * Mails `message` unless its address has had its share this hour (mail-limits.ts): then only a
 * log line, and the caller answers as if it had gone, so that no one learns from the answer.
 */
async function mailWithinLimits(services: Services, log: Input<unknown>['log'], kind: MailKind, message: MailMessage, devLink?: string): Promise<void> {
  try {
    await mailLimitsFor(services.store).take(message.to);
  } catch (error) {
    if (!(error instanceof RateLimitedError)) throw error;
    log.warn('mail not sent: the address had its share this hour', { event: 'mail.limited', kind });
    return;
  }
  await (await services.mailer()).send(kind, message, devLink === undefined ? {} : { devLink });
}

function verificationMail(services: Services, email: string, token: string): { message: MailMessage; link: string } {
  const link = verificationLink(services.appUrl, token);
  return { message: renderMail('verify-email', email, { link, hours: EMAIL_VERIFICATION.lifetimeMs / 3_600_000 }), link };
}

/** Follows a confirmation link: the address is verified, and the next refresh says so in the access token. */
export async function verifyEmail({ body, services, log }: PublicInput<VerifyEmail>): Promise<Reply> {
  const outcome = await confirmEmail(services.store, body.token);
  if (outcome.kind === 'invalid') throw new ApiError('verification_link_invalid');
  log.info('email verified', { event: 'account.email_verified', userId: outcome.account.id });
  return { status: 200, body: { user: publicAccount(outcome.account) } };
}

/** Another confirmation link for the signed-in account, within the mail limits (429 beyond them: it is the account's own address). */
export async function resendVerification({ principal, services, ip }: Input<unknown>): Promise<Reply> {
  const account = await signedInAccount(services, principal);
  if (account.emailVerifiedAt !== null) throw new ApiError('email_already_verified');
  await mailLimitsFor(services.store).take(account.email, ip);
  const token = await services.store.runTransaction(async (tx) => createLinkToken(tx, EMAIL_VERIFICATION, account.id, account.email));
  const { message, link } = verificationMail(services, account.email, token);
  await (await services.mailer()).send('verify-email', message, { devLink: link });
  return { status: 202, body: { email: account.email } };
}

/**
 * The least time asking for a reset takes, whatever the address: what an account adds (its link
 * written, its mail recorded; the hand-over runs after the answer) stays below it.
 */
const RESET_REQUEST_FLOOR_MS = 250;

/** The same answer (202) for any address, in the same time; a link only to an account. Counted per address and per IP (429 beyond). */
export async function forgotPassword({ body, services, log, ip }: PublicInput<ForgotPassword>): Promise<Reply> {
  const floor = new Promise((resolve) => setTimeout(resolve, RESET_REQUEST_FLOOR_MS));
  await mailLimitsFor(services.store).take(body.email, ip);
  const account = await findAccountByEmail(services.store, body.email);
  if (account) {
    const token = await services.store.runTransaction(async (tx) => createLinkToken(tx, PASSWORD_RESET, account.id, account.email));
    const link = resetLink(services.appUrl, token);
    const message = renderMail('password-reset', account.email, { link, minutes: PASSWORD_RESET.lifetimeMs / 60_000 });
    await (await services.mailer()).send('password-reset', message, { devLink: link, background: true });
    log.info('password reset asked', { event: 'account.password_reset_requested', userId: account.id });
  } else {
    log.info('password reset asked for an address without an account', { event: 'account.password_reset_unknown' });
  }
  await floor;
  return { status: 202, body: { accepted: true, email: body.email } };
}

/**
 * Sets a new password from a reset link: the policy applies, an account with MFA gives a code or
 * a recovery code too (counted by the MFA guessing limits), and every session of the account
 * ends. Its owner is told by mail.
 */
export async function confirmPasswordReset(input: PublicInput<ResetPasswordRequest>): Promise<Reply> {
  const { body, services, log, ip } = input;
  const owner = await resetLinkOwner(services.store, body.token);
  if (!owner) throw new ApiError('reset_link_invalid');
  await requireStrongPassword(services, body.password, owner.email);
  const proof = body.code !== undefined ? { code: body.code } : body.recoveryCode !== undefined ? { recoveryCode: body.recoveryCode } : undefined;
  if (owner.mfa && !proof) throw new ApiError('mfa_code_required');
  const attempt = owner.mfa ? await mfaGuardFor(services.store).begin({ uid: owner.id, ip }) : undefined;
  const reset = async () => resetPassword(services.store, { token: body.token, passwordHash: await hashPassword(body.password), proof, secrets: totpSecretsFor(services.auth) });
  const outcome = attempt ? await judged(attempt, reset) : await reset();
  if (outcome.kind === 'invalid_link') throw new ApiError('reset_link_invalid');
  if (outcome.kind === 'second_factor_required') throw new ApiError('mfa_code_required');
  if (outcome.kind === 'second_factor_refused') {
    if (outcome.reason === 'replayed') log.warn('TOTP code replayed', { event: 'security.totp_replay', userId: outcome.uid });
    log.warn('MFA code refused', { event: 'mfa.failed', userId: outcome.uid });
    throw invalidMfaCode();
  }
  await attempt?.succeeded();
  const ended = await endOtherSessions(services.store, outcome.account.id, undefined);
  log.warn('password reset', { event: 'account.password_reset', userId: outcome.account.id, sessionsEnded: ended, secondFactor: outcome.secondFactor });
  await audit(input, 'password_reset', outcome.account.id, outcome.account.id, { sessionsEnded: ended, secondFactor: outcome.secondFactor });
  const when = new Date(outcome.account.updatedAt).toUTCString();
  await (await services.mailer()).send('password-changed', renderMail('password-changed', outcome.account.email, { when }));
  return { status: 200, body: { user: publicAccount(outcome.account) } };
}

type Services = Input<unknown>['services'];

/**
 * A started or refreshed session, as the client asked to keep it: apps get the refresh token
 * in the JSON; browsers get it in the HttpOnly session cookie, and the CSRF token in the JSON.
 */
function sessionReply(services: Services, issued: IssuedSession, account: Account, transport: 'token' | 'cookie', extra: Record<string, unknown> = {}): Reply {
  const { sessionId, expiresAt, refreshToken, ...tokens } = issued;
  const user = publicAccount(account);
  if (transport === 'token') return { status: 200, body: { ...tokens, refreshToken, user, ...extra } };
  return {
    status: 200,
    body: { ...tokens, csrfToken: csrfTokenFor(services.auth, sessionId), user, ...extra },
    headers: { 'Set-Cookie': sessionCookie(services.auth.sessionCookieName, { sessionId, refreshToken }, expiresAt) },
  };
}

function invalidCredentials(): ApiError {
  return new ApiError('invalid_credentials');
}

/** Who is using a session, for its owner's list of sessions. */
function clientOf({ ip, request }: { ip: string; request: Input<unknown>['request'] }): SessionClient {
  const userAgent = request.headers['user-agent'];
  return { ip, userAgent: typeof userAgent === 'string' ? userAgent : undefined };
}

/** Records a security event in the stored audit log (auth/audit.ts), with the request's client address and id. */
async function audit(
  input: { services: Services; ip: string; requestId: string },
  kind: AuditKind,
  actorId: string | null,
  subjectId: string | null,
  details?: Record<string, unknown>,
) {
  await recordAudit(input.services.store, { kind, actorId, subjectId, ip: input.ip, requestId: input.requestId, ...(details ? { details } : {}) });
}

export async function login(input: PublicInput<Login>): Promise<Reply> {
  const { body, services, log, ip } = input;
  const device = deviceOf(services.auth, body.email, body.deviceToken);
  const attempt = await loginGuardFor(services.store)
    .begin({ email: body.email, ip, device })
    .catch(async (error: unknown) => {
      if (error instanceof RateLimitedError) await audit(input, 'sign_in_locked', null, (await findAccountByEmail(services.store, body.email))?.id ?? null);
      throw error;
    });
  const { account, valid } = await judged(attempt, async () => {
    const found = await findAccountByEmail(services.store, body.email);
    return { account: found, valid: await verifyPassword(body.password, found?.passwordHash ?? (await decoyHash())) };
  });
  if (!account || !valid) {
    log.warn('login failed', { event: 'login.failed', userId: account?.id, knownDevice: device !== undefined });
    throw invalidCredentials();
  }
  await attempt.succeeded();
  if (account.disabled) {
    // Said only to whoever knows the password: to anyone else a disabled account looks like any other.
    log.warn('login refused: account disabled', { event: 'login.disabled', userId: account.id });
    await audit(input, 'sign_in_refused', account.id, account.id, { reason: 'disabled' });
    throw new ApiError('account_disabled');
  }
  if (account.mfa) {
    // The password was right; the session waits for the second factor (POST /auth/mfa/verify).
    const challenge = await createChallenge(services.store, account.id, device !== undefined);
    log.info('login needs MFA', { event: 'login.mfa_required', userId: account.id });
    return { status: 200, body: { mfaRequired: true, challenge, expiresIn: CHALLENGE_TTL_SECONDS } };
  }
  if (needsRehash(account.passwordHash)) {
    // Parameters have been raised since this hash was made: upgrade it while we have the password.
    await services.store.update(USERS, account.id, { passwordHash: await hashPassword(body.password), updatedAt: new Date().toISOString() });
  }
  const client = clientOf(input);
  const session = await startSession(services.store, services.auth, account, ['pwd'], client);
  log.info('login', { event: 'login.succeeded', userId: account.id });
  await audit(input, 'sign_in', account.id, account.id, { mfa: false, knownDevice: device !== undefined });
  if (device === undefined) await notifyNewSignIn(services, account, client);
  return sessionReply(services, session, account, body.session, { deviceToken: issueDeviceToken(services.auth, account.email) });
}

/**
 * Tells the owner of what changed how the account signs in, or of a sign-in from a device that
 * has not signed in before (no device token of this account came with it). Handed over after
 * the answer, and outside the mail limits: only someone with the account's secrets sets these off.
 */
async function notify<K extends 'mfa-enabled' | 'mfa-disabled' | 'new-sign-in'>(services: Services, to: string, kind: K, values: TemplateValues[K]): Promise<void> {
  await (await services.mailer()).send(kind, renderMail(kind, to, values), { background: true });
}

async function notifyNewSignIn(services: Services, account: Account, client: SessionClient): Promise<void> {
  await notify(services, account.email, 'new-sign-in', { device: deviceName(client.userAgent ?? null), ip: client.ip, when: new Date().toUTCString() });
}

/** Which refresh token a request presents: in its body (apps) or in its session cookie (browsers). */
function presented(body: RefreshRequest, session: Input<unknown>['session']) {
  if (body.refreshToken !== undefined) return { refreshToken: body.refreshToken, sessionId: undefined, transport: 'token' as const };
  if (session) return { ...session, transport: 'cookie' as const };
  return undefined;
}

export async function refresh(input: PublicInput<RefreshRequest>): Promise<Reply> {
  const { body, session, services, log } = input;
  const credential = presented(body, session);
  if (!credential) throw new ApiError('invalid_refresh_token');
  const outcome = await refreshSession(services.store, services.auth, credential.refreshToken, clientOf(input), credential.sessionId);
  if (outcome.kind === 'reused') {
    log.warn('refresh token reused: session revoked', { event: 'security.refresh_token_reuse', userId: outcome.uid, familyId: outcome.familyId });
    await audit(input, 'refresh_token_reuse', null, outcome.uid, { sessionId: outcome.familyId });
  }
  if (outcome.kind === 'stale') {
    log.info('session from before MFA was turned on: revoked', { event: 'session.revoked_for_mfa', userId: outcome.uid, familyId: outcome.familyId });
  }
  if (outcome.kind !== 'rotated') {
    const cleared = credential.transport === 'cookie' ? { headers: { 'Set-Cookie': clearedSessionCookie(services.auth.sessionCookieName) } } : {};
    throw new ApiError(outcome.kind === 'disabled' ? 'account_disabled' : 'invalid_refresh_token', cleared);
  }
  return sessionReply(services, outcome.session, outcome.account, credential.transport);
}

export async function logout({ body, session, services, log }: PublicInput<RefreshRequest>): Promise<Reply> {
  const credential = presented(body, session);
  if (credential) await endSession(services.store, credential.refreshToken);
  log.info('logout', { event: 'logout' });
  const cleared = credential?.transport === 'cookie' ? { 'Set-Cookie': clearedSessionCookie(services.auth.sessionCookieName) } : undefined;
  return { status: 204, ...(cleared ? { headers: cleared } : {}) };
}

/**
 * For a page that reloaded: whether it has a session cookie, and if so its CSRF token again.
 * "No" is an answer, not an error: a page asks this on every load (the cookie is HttpOnly).
 */
export async function sessionInfo({ session, services }: PublicInput<unknown>): Promise<Reply> {
  if (!session) return { status: 200, body: { session: false } };
  if (!(await isLiveSession(services.store, services.auth, session.sessionId, session.refreshToken))) {
    // A cookie of an ended session: say so, and let the browser drop it.
    return { status: 200, body: { session: false }, headers: { 'Set-Cookie': clearedSessionCookie(services.auth.sessionCookieName) } };
  }
  return { status: 200, body: { session: true, csrfToken: csrfTokenFor(services.auth, session.sessionId) } };
}

export async function me({ principal, services }: Input<unknown>): Promise<Reply> {
  return { status: 200, body: { user: publicAccount(await signedInAccount(services, principal)) } };
}

/** How recent the multi-factor sign-in must be for changing roles. */
export const STEP_UP_MAX_AGE_SECONDS = 15 * 60;
/** How recent the sign-in (password or MFA) must be for changing the account's own security. */
export const RECENT_SIGN_IN_SECONDS = 5 * 60;

/** Seconds since the sign-in the token stems from; unknown counts as too long ago. */
function signInAge(principal: Input<unknown>['principal']): number {
  return principal.authTime === undefined ? Infinity : Date.now() / 1000 - principal.authTime;
}

/** A stolen access token alone must not be enough to change how the account signs in. */
function requireRecentSignIn(principal: Input<unknown>['principal']): void {
  if (signInAge(principal) > RECENT_SIGN_IN_SECONDS) throw new ApiError('recent_sign_in_required', { params: { minutes: Math.round(RECENT_SIGN_IN_SECONDS / 60) } });
}

/**
 * Before admins look or act. Acting on other accounts needs a multi-factor sign-in of the last 15
 * minutes (`recent`). And an admin's access token outlives a disabling by up to its 15 minutes,
 * so the admin's own account is read first: a disabled admin's live token can neither look nor
 * act. (A token `npm run token` minted for no account is judged by its claims alone.)
 */
async function requireActiveAdmin(services: Services, principal: Input<unknown>['principal'], { recent }: { recent: boolean }): Promise<void> {
  if (recent && (!principal.mfa || signInAge(principal) > STEP_UP_MAX_AGE_SECONDS)) throw new ApiError('mfa_required');
  if ((await getAccount(services.store, principal.subject))?.disabled) throw new ApiError('account_disabled');
}

export async function changeRoles(input: HandlerInput<{ uid: string }, unknown, SetRoles>): Promise<Reply> {
  const { params, body, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  const change = await setRoles(services.store, params.uid, body.roles);
  if (!change) throw userNotFound();
  log.info('roles changed', { event: 'audit.roles_changed', actor: principal.subject, subject: params.uid, from: change.from, to: change.to });
  await audit(input, 'roles_changed', principal.subject, params.uid, { from: change.from, to: change.to });
  return { status: 200, body: { user: publicAccount(change.account) } };
}

/**
 * Proof that the person changing how the account signs in is its owner: the current password
 * (counted by the login guessing limits, as a sign-in is), or a sign-in with MFA of the last 5
 * minutes.
 */
async function reauthenticate(input: Input<{ currentPassword?: string | undefined }>, account: Account): Promise<void> {
  const { body, principal, services, ip, log } = input;
  if (body.currentPassword === undefined) {
    if (principal.mfa && signInAge(principal) <= RECENT_SIGN_IN_SECONDS) return;
    throw new ApiError('reauthentication_required');
  }
  const password = body.currentPassword;
  const attempt = await loginGuardFor(services.store).begin({ email: account.email, ip });
  if (!(await judged(attempt, () => verifyPassword(password, account.passwordHash)))) {
    log.warn('current password refused', { event: 'account.reauthentication_failed', userId: account.id });
    throw new ApiError('current_password_wrong');
  }
  await attempt.succeeded();
}

/** A new password for the signed-in account: the policy applies, every other session ends, its owner is told. */
export async function changePassword(input: Input<ChangePassword>): Promise<Reply> {
  const { body, principal, services, log } = input;
  const account = await signedInAccount(services, principal);
  await reauthenticate(input, account);
  await requireStrongPassword(services, body.newPassword, account.email);
  const updatedAt = new Date().toISOString();
  await services.store.update(USERS, account.id, { passwordHash: await hashPassword(body.newPassword), updatedAt });
  const ended = await endOtherSessions(services.store, account.id, principal.sessionId);
  log.warn('password changed', { event: 'account.password_changed', userId: account.id, sessionsEnded: ended });
  await audit(input, 'password_changed', account.id, account.id, { sessionsEnded: ended });
  await (await services.mailer()).send('password-changed', renderMail('password-changed', account.email, { when: new Date(updatedAt).toUTCString() }));
  return { status: 200, body: { user: publicAccount({ ...account, updatedAt }) } };
}

/**
 * Asks to move the account to a new address: a link to the new address, or, when it has an
 * account of its own, a notice there instead — the same answer either way. Counted like the
 * other mails (5 an hour to an address, 20 asks an hour from an IP).
 */
export async function changeEmail(input: Input<ChangeEmail>): Promise<Reply> {
  const { body, principal, services, log, ip } = input;
  const account = await signedInAccount(services, principal);
  await reauthenticate(input, account);
  if (body.newEmail === account.email) throw new ApiError('email_unchanged');
  await mailLimitsFor(services.store).take(body.newEmail, ip);
  const mailer = await services.mailer();
  if (await findAccountByEmail(services.store, body.newEmail)) {
    log.info('email change to an address that has an account', { event: 'account.email_change_taken', userId: account.id });
    await mailer.send('email-change-attempt', renderMail('email-change-attempt', body.newEmail, {}));
  } else {
    const token = await services.store.runTransaction(async (tx) => createLinkToken(tx, EMAIL_CHANGE, account.id, account.email, { [NEW_EMAIL]: body.newEmail }));
    const link = emailChangeLink(services.appUrl, token);
    await mailer.send('email-change', renderMail('email-change', body.newEmail, { link, hours: EMAIL_CHANGE.lifetimeMs / 3_600_000 }), { devLink: link });
    log.info('email change asked', { event: 'account.email_change_requested', userId: account.id });
  }
  return { status: 202, body: { accepted: true, email: body.newEmail } };
}

/** Follows the link mailed to the new address: the account moves there (verified), and the old address is told. */
export async function confirmEmailChangeLink(input: PublicInput<ConfirmEmailChange>): Promise<Reply> {
  const { body, services, log } = input;
  const outcome = await confirmEmailChange(services.store, body.token);
  if (outcome.kind === 'invalid') throw new ApiError('email_change_link_invalid');
  if (outcome.kind === 'taken') throw new ApiError('email_taken');
  log.warn('email changed', { event: 'account.email_changed', userId: outcome.account.id });
  await audit(input, 'email_changed', outcome.account.id, outcome.account.id);
  const notice = renderMail('email-changed', outcome.previousEmail, { newEmail: outcome.account.email, when: new Date(outcome.account.updatedAt).toUTCString() });
  await (await services.mailer()).send('email-changed', notice);
  return { status: 200, body: { user: publicAccount(outcome.account) } };
}

/** The signed-in account's live sessions: created, last used, from where and what, and which is this one. */
export async function sessionsList({ principal, services }: Input<unknown>): Promise<Reply> {
  const sessions = await listSessions(services.store, principal.subject);
  return {
    status: 200,
    body: {
      sessions: sessions.map(({ userAgent, ...session }) => ({ ...session, device: deviceName(userAgent), current: session.id === principal.sessionId })),
    },
  };
}

/** Ends one session of the signed-in account (this one included: its refresh token stops working). */
export async function sessionEnd(input: HandlerInput<{ id: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services, log } = input;
  if (!(await endSessionOf(services.store, principal.subject, params.id))) throw new ApiError('not_found', { params: { what: 'session' } });
  log.info('session ended by its owner', { event: 'session.ended', userId: principal.subject, sessionId: params.id });
  await audit(input, 'sessions_ended', principal.subject, principal.subject, { sessions: [params.id] });
  return { status: 204 };
}

/** Ends every session of the signed-in account but this one. */
export async function sessionsEndOthers(input: Input<unknown>): Promise<Reply> {
  const { principal, services, log } = input;
  const ended = await endOtherSessions(services.store, principal.subject, principal.sessionId);
  log.info('other sessions ended by their owner', { event: 'session.others_ended', userId: principal.subject, sessionsEnded: ended });
  await audit(input, 'sessions_ended', principal.subject, principal.subject, { ended, allBut: principal.sessionId ?? null });
  return { status: 200, body: { ended } };
}

/** The signed-in account's data as one JSON download: the account without its secrets, its items, its uploads' metadata, its sessions. */
export async function exportData({ principal, services, log }: Input<unknown>): Promise<Reply> {
  const account = await signedInAccount(services, principal);
  const data = await exportAccount(services.store, account);
  log.info('account exported', { event: 'account.exported', userId: account.id });
  return { status: 200, body: data, headers: { 'Content-Disposition': 'attachment; filename="account-export.json"' } };
}

/**
 * Deletes the signed-in account and everything it owns, after the same proof as a password
 * change (auth/account-data.ts says in what order, and why a failure midway loses nothing).
 */
export async function deleteMyAccount(input: Input<DeleteAccount>): Promise<Reply> {
  const { principal, services, log } = input;
  const account = await signedInAccount(services, principal);
  await reauthenticate(input, account);
  const report = await deleteAccount(services.store, services.blobs, account);
  log.warn('account deleted', { event: 'account.deleted', userId: account.id, ...report });
  await audit(input, 'account_deleted', account.id, account.id, { ...report });
  return { status: 200, body: { deleted: report }, headers: { 'Set-Cookie': clearedSessionCookie(services.auth.sessionCookieName) } };
}

/** The stored audit log, newest first, by account and by kind (admins, with a recent MFA sign-in). */
export async function auditLog({ query, principal, services }: HandlerInput<unknown, AuditLogQuery, unknown>): Promise<Reply> {
  await requireActiveAdmin(services, principal, { recent: false });
  const page = await queryAudit(services.store, { subjectId: query.user, kind: query.kind, limit: query.limit, cursor: query.cursor });
  return {
    status: 200,
    body: {
      events: page.documents.map(({ id, data: { expiresAt: _, details, ...event } }) => ({ id, ...event, details: details === null ? null : (JSON.parse(details) as unknown) })),
      nextCursor: page.nextCursor,
    },
  };
}

/**
 * Admins' list of accounts, newest first (only the disabled ones, if asked), or the account with
 * one address. Looking is recorded too: who saw which accounts is part of the audit trail.
 */
export async function usersList(input: HandlerInput<unknown, UsersQuery, unknown>): Promise<Reply> {
  const { query, principal, services } = input;
  await requireActiveAdmin(services, principal, { recent: false });
  let users: Account[];
  let nextCursor: string | null = null;
  if (query.email !== undefined) {
    const found = await findAccountByEmail(services.store, query.email);
    users = found && (query.status !== 'disabled' || found.disabled) ? [found] : [];
  } else {
    const page = await listAccounts(services.store, { disabledOnly: query.status === 'disabled', limit: query.limit, cursor: query.cursor });
    users = page.accounts;
    nextCursor = page.nextCursor;
  }
  const subject = query.email !== undefined ? (users[0]?.id ?? null) : null;
  await audit(input, 'accounts_viewed', principal.subject, subject, { search: query.email !== undefined ? 'email' : 'list', status: query.status ?? null, shown: users.length });
  return { status: 200, body: { users: users.map(adminView), nextCursor } };
}

/** One account as admins see it, with its live sessions. */
export async function userDetail(input: HandlerInput<{ uid: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services } = input;
  await requireActiveAdmin(services, principal, { recent: false });
  const account = await getAccount(services.store, params.uid);
  if (!account) throw userNotFound();
  const sessions = await listSessions(services.store, account.id);
  await audit(input, 'accounts_viewed', principal.subject, account.id, { search: 'id' });
  return { status: 200, body: { user: adminView(account), sessions: sessions.map(({ userAgent, ...session }) => ({ ...session, device: deviceName(userAgent) })) } };
}

function userNotFound(): ApiError {
  return new ApiError('not_found', { params: { what: 'user' } });
}

/** Disables an account: its sessions end, and sign-in and refresh refuse it (auth/account-status.ts). */
export async function disableUser(input: HandlerInput<{ uid: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  // An admin who could lock themself out would need another admin to come back.
  if (params.uid === principal.subject) throw new ApiError('own_account', { params: { action: 'disable' } });
  const outcome = await disableAccount(services.store, params.uid);
  if (!outcome) throw userNotFound();
  log.warn('account disabled', { event: 'audit.account_disabled', actor: principal.subject, subject: params.uid, sessionsEnded: outcome.sessionsEnded });
  await audit(input, 'account_disabled', principal.subject, params.uid, { changed: outcome.changed, sessionsEnded: outcome.sessionsEnded });
  return { status: 200, body: { user: adminView(outcome.account), sessionsEnded: outcome.sessionsEnded } };
}

/** Lets a disabled account sign in again. */
export async function enableUser(input: HandlerInput<{ uid: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  const outcome = await enableAccount(services.store, params.uid);
  if (!outcome) throw userNotFound();
  log.info('account enabled', { event: 'audit.account_enabled', actor: principal.subject, subject: params.uid });
  await audit(input, 'account_enabled', principal.subject, params.uid, { changed: outcome.changed });
  return { status: 200, body: { user: adminView(outcome.account) } };
}

/** Ends every session of an account (it may sign in again); its access tokens live out their 15 minutes. */
export async function signOutUser(input: HandlerInput<{ uid: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  if (!(await getAccount(services.store, params.uid))) throw userNotFound();
  const ended = await endOtherSessions(services.store, params.uid, undefined);
  log.warn('account signed out by an admin', { event: 'audit.account_signed_out', actor: principal.subject, subject: params.uid, sessionsEnded: ended });
  await audit(input, 'account_signed_out', principal.subject, params.uid, { ended });
  return { status: 200, body: { ended } };
}

/** A new service credential: its secret is in this answer and nowhere else. */
export async function createServiceCredential(input: HandlerInput<unknown, unknown, CreateCredential>): Promise<Reply> {
  const { body, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  const created = await createCredential(services.store, services.auth, { name: body.name, roles: body.roles, createdBy: principal.subject });
  log.warn('service credential created', { event: 'audit.service_credential_created', actor: principal.subject, keyId: created.credential.keyId, roles: body.roles });
  await audit(input, 'service_credential_created', principal.subject, null, { keyId: created.credential.keyId, roles: body.roles });
  return { status: 201, body: created };
}

export async function serviceCredentialsList({ principal, services }: Input<unknown>): Promise<Reply> {
  await requireActiveAdmin(services, principal, { recent: false });
  return { status: 200, body: { credentials: await listCredentials(services.store) } };
}

function credentialNotFound(): ApiError {
  return new ApiError('not_found', { params: { what: 'service credential' } });
}

/** A new secret for the credential; the previous one keeps signing for the overlap asked. */
export async function rotateServiceCredential(input: HandlerInput<{ keyId: string }, unknown, RotateCredential>): Promise<Reply> {
  const { params, body, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  const rotated = await rotateCredential(services.store, services.auth, params.keyId, body.overlapSeconds);
  if (!rotated) throw credentialNotFound();
  log.warn('service credential rotated', { event: 'audit.service_credential_rotated', actor: principal.subject, keyId: params.keyId, overlapSeconds: body.overlapSeconds });
  await audit(input, 'service_credential_rotated', principal.subject, null, { keyId: params.keyId, overlapSeconds: body.overlapSeconds });
  return { status: 200, body: rotated };
}

export async function revokeServiceCredential(input: HandlerInput<{ keyId: string }, unknown, unknown>): Promise<Reply> {
  const { params, principal, services, log } = input;
  await requireActiveAdmin(services, principal, { recent: true });
  if (!(await revokeCredential(services.store, params.keyId))) throw credentialNotFound();
  log.warn('service credential revoked', { event: 'audit.service_credential_revoked', actor: principal.subject, keyId: params.keyId });
  await audit(input, 'service_credential_revoked', principal.subject, null, { keyId: params.keyId });
  return { status: 204 };
}

function invalidMfaCode(): ApiError {
  return new ApiError('invalid_mfa_code');
}

function accountGone(): ApiError {
  return new ApiError('invalid_token', { params: { reason: 'its account no longer exists' } });
}

/** The account the token speaks for, as it is now: gone or disabled since the token was issued, it is refused. */
async function signedInAccount(services: Services, principal: Input<unknown>['principal']): Promise<Account> {
  const account = await getAccount(services.store, principal.subject);
  if (!account) throw accountGone();
  if (account.disabled) throw new ApiError('account_disabled');
  return account;
}

/** A display name for authenticator apps: the issuer's host name when it is a URL. */
function issuerName(issuer: string): string {
  try {
    return new URL(issuer).hostname;
  } catch {
    return issuer;
  }
}

export async function enrollMfa({ principal, services }: Input<unknown>): Promise<Reply> {
  requireRecentSignIn(principal);
  const account = await signedInAccount(services, principal);
  if (account.mfa) throw new ApiError('mfa_already_enabled');
  const secret = newTotpSecret();
  const sealed = totpSecretsFor(services.auth).seal(account.id, secret);
  await services.store.update(USERS, account.id, { mfaPending: { secret: sealed, createdAt: new Date().toISOString() }, updatedAt: new Date().toISOString() });
  const uri = otpauthUri(secret, account.email, issuerName(services.auth.issuer));
  return { status: 200, body: { secret, otpauthUri: uri, qrCode: await qrCodeDataUrl(uri) } };
}

export async function activateMfa(input: Input<MfaCode>): Promise<Reply> {
  const { body, principal, services, log } = input;
  requireRecentSignIn(principal);
  const { recoveryCodes, email } = await services.store.runTransaction(async (tx) => {
    const user = await tx.get<UserDocument>(USERS, principal.subject);
    if (!user) throw accountGone();
    if (user.mfa) throw new ApiError('mfa_already_enabled');
    if (!user.mfaPending) throw new ApiError('mfa_not_enrolled');
    const secrets = totpSecretsFor(services.auth);
    const step = matchingStep(secrets.open(principal.subject, user.mfaPending.secret), body.code);
    if (step === null) throw invalidMfaCode();
    const { codes, hashes } = newRecoveryCodes();
    const now = new Date().toISOString();
    tx.update(USERS, principal.subject, {
      mfa: { secret: secrets.current(principal.subject, user.mfaPending.secret), enabledAt: now, lastStep: step, recoveryCodes: hashes },
      mfaPending: null,
      updatedAt: now,
    });
    return { recoveryCodes: codes, email: user.email };
  });
  // This session has just shown both factors; every other one has shown at most the password.
  if (principal.sessionId) await strengthenSession(services.store, principal.sessionId, ['pwd', 'mfa']);
  const ended = await endOtherSessions(services.store, principal.subject, principal.sessionId);
  log.info('MFA enabled', { event: 'mfa.enabled', userId: principal.subject, sessionsEnded: ended });
  await audit(input, 'mfa_enabled', principal.subject, principal.subject, { sessionsEnded: ended });
  await notify(services, email, 'mfa-enabled', { when: new Date().toUTCString() });
  // Shown once: only their hashes are kept.
  return { status: 200, body: { mfaEnabled: true, recoveryCodes } };
}

export async function verifyMfa(input: PublicInput<MfaVerify>): Promise<Reply> {
  const { body, services, log, ip } = input;
  const owner = await challengeOwner(services.store, body.challenge);
  if (owner === undefined) throw invalidChallenge();
  const attempt = await mfaGuardFor(services.store).begin({ uid: owner, ip });
  const proof = body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode! };
  const outcome = await judged(attempt, () => answerChallenge(services.store, totpSecretsFor(services.auth), body.challenge, proof));
  if (outcome.kind === 'refused') {
    if (outcome.reason === 'replayed') {
      log.warn('TOTP code replayed', { event: 'security.totp_replay', userId: outcome.uid });
    }
    log.warn('MFA code refused', { event: 'mfa.failed', userId: owner });
    if (outcome.reason === 'unknown_challenge') throw invalidChallenge();
    throw invalidMfaCode();
  }
  await attempt.succeeded();
  if (outcome.method === 'recovery_code') {
    log.warn('recovery code used', { event: 'mfa.recovery_code_used', userId: outcome.account.id, left: outcome.recoveryCodesLeft });
  }
  const client = clientOf(input);
  const session = await startSession(services.store, services.auth, outcome.account, ['pwd', 'mfa'], client);
  log.info('login', { event: 'login.succeeded', userId: outcome.account.id, mfa: outcome.method });
  await audit(input, 'sign_in', outcome.account.id, outcome.account.id, { mfa: outcome.method, knownDevice: outcome.knownDevice });
  if (!outcome.knownDevice) await notifyNewSignIn(services, outcome.account, client);
  return sessionReply(services, session, outcome.account, body.session, {
    recoveryCodesLeft: outcome.recoveryCodesLeft,
    deviceToken: issueDeviceToken(services.auth, outcome.account.email),
  });
}

function invalidChallenge(): ApiError {
  return new ApiError('invalid_challenge');
}

export async function disableMfa(input: Input<MfaCode>): Promise<Reply> {
  const { body, principal, services, log, ip } = input;
  requireRecentSignIn(principal);
  const attempt = await mfaGuardFor(services.store).begin({ uid: principal.subject, ip });
  const outcome = await judged(attempt, () =>
    services.store.runTransaction(async (tx) => {
      const user = await tx.get<UserDocument>(USERS, principal.subject);
      if (!user) throw accountGone();
      if (!user.mfa) throw new ApiError('mfa_not_enabled');
      const check = checkTotp(user.mfa, totpSecretsFor(services.auth).open(principal.subject, user.mfa.secret), body.code);
      if (!check.ok) return { result: check.reason, email: user.email };
      tx.update(USERS, principal.subject, { mfa: null, mfaPending: null, updatedAt: new Date().toISOString() });
      return { result: 'disabled' as const, email: user.email };
    }),
  );
  if (outcome.result === 'replayed') log.warn('TOTP code replayed', { event: 'security.totp_replay', userId: principal.subject });
  if (outcome.result !== 'disabled') {
    log.warn('MFA code refused', { event: 'mfa.failed', userId: principal.subject });
    throw invalidMfaCode();
  }
  await attempt.succeeded();
  const ended = await endOtherSessions(services.store, principal.subject, principal.sessionId);
  log.warn('MFA disabled', { event: 'mfa.disabled', userId: principal.subject, sessionsEnded: ended });
  await audit(input, 'mfa_disabled', principal.subject, principal.subject, { sessionsEnded: ended });
  await notify(services, outcome.email, 'mfa-disabled', { when: new Date().toUTCString() });
  return { status: 200, body: { mfaEnabled: false } };
}
