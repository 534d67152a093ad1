/**
 * The auth function's handlers: JWKS, register, login, refresh, logout, me.
 * Login answers an unknown email exactly as a wrong password, in about the same time (the
 * password is checked against a decoy hash), so it cannot be used to find accounts.
 */
import { BadRequestError, ConflictError, HttpError, NotFoundError, StepUpRequiredError, UnauthorizedError } from '../pipeline/errors.ts';
import type { HandlerInput, Reply } from '../pipeline/route.ts';
import { loginGuardFor } from './brute-force.ts';
import { createAccount, findAccountByEmail, getAccount, publicAccount, USERS } from './accounts.ts';
import { judgePassword } from './password-policy.ts';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { setRoles } from './roles.ts';
import type { Credentials, RefreshRequest, SetRoles } from './schemas.ts';
import { endSession, refreshSession, startSession } from './sessions.ts';

type Input<B> = HandlerInput<unknown, unknown, B>;

/** Publishes the public halves of every accepted signing key (current and previous). */
export async function jwks({ services }: Input<unknown>): Promise<Reply> {
  return { status: 200, body: { keys: services.auth.keys.verification } };
}

export async function register({ body, services, log }: Input<Credentials>): Promise<Reply> {
  const verdict = await judgePassword(body.password, [body.email]);
  if (!verdict.ok) {
    throw new BadRequestError('weak_password', verdict.reason, { details: { suggestions: verdict.suggestions } });
  }
  const account = await createAccount(services.store, body.email, await hashPassword(body.password));
  if (!account) throw new ConflictError('email_taken', 'An account with this email exists. Sign in instead.');
  log.info('account created', { event: 'account.created', userId: account.id });
  return { status: 201, body: { user: publicAccount(account) }, headers: { Location: '/auth/me' } };
}

function invalidCredentials(): HttpError {
  return new HttpError(401, 'invalid_credentials', 'The email or the password is wrong.');
}

export async function login({ body, services, log, ip }: Input<Credentials>): Promise<Reply> {
  const guard = loginGuardFor(services.store);
  await guard.check(body.email, ip);
  const account = await findAccountByEmail(services.store, body.email);
  const valid = await verifyPassword(body.password, account?.passwordHash ?? (await decoyHash()));
  if (!account || !valid) {
    await guard.recordFailure(body.email, ip);
    log.warn('login failed', { event: 'login.failed', userId: account?.id });
    throw invalidCredentials();
  }
  await guard.recordSuccess(body.email, ip);
  if (needsRehash(account.passwordHash)) {
    // Parameters have been raised since this hash was made: upgrade it while we have the password.
    await services.store.update(USERS, account.id, { passwordHash: await hashPassword(body.password), updatedAt: new Date().toISOString() });
  }
  const session = await startSession(services.store, services.auth, account, ['pwd']);
  log.info('login', { event: 'login.succeeded', userId: account.id });
  return { status: 200, body: { ...session, user: publicAccount(account) } };
}

export async function refresh({ body, services, log }: Input<RefreshRequest>): Promise<Reply> {
  const outcome = await refreshSession(services.store, services.auth, body.refreshToken);
  if (outcome.kind === 'reused') {
    log.warn('refresh token reused: session revoked', { event: 'security.refresh_token_reuse', userId: outcome.uid, familyId: outcome.familyId });
  }
  if (outcome.kind !== 'rotated') {
    throw new HttpError(401, 'invalid_refresh_token', 'The session has ended. Sign in again.');
  }
  return { status: 200, body: { ...outcome.session, user: publicAccount(outcome.account) } };
}

export async function logout({ body, services, log }: Input<RefreshRequest>): Promise<Reply> {
  await endSession(services.store, body.refreshToken);
  log.info('logout', { event: 'logout' });
  return { status: 204 };
}

export async function me({ principal, services }: Input<unknown>): Promise<Reply> {
  const account = await getAccount(services.store, principal.subject);
  if (!account) throw new UnauthorizedError('invalid_token', 'The account of this token no longer exists.');
  return { status: 200, body: { user: publicAccount(account) } };
}

/** How recent the multi-factor sign-in must be for changing roles. */
export const STEP_UP_MAX_AGE_SECONDS = 15 * 60;

export async function changeRoles({ params, body, principal, services, log }: HandlerInput<{ uid: string }, unknown, SetRoles>): Promise<Reply> {
  const age = principal.authTime === undefined ? Infinity : Date.now() / 1000 - principal.authTime;
  if (!principal.mfa || age > STEP_UP_MAX_AGE_SECONDS) throw new StepUpRequiredError();
  const change = await setRoles(services.store, params.uid, body.roles);
  if (!change) throw new NotFoundError('No such user.');
  log.info('roles changed', { event: 'audit.roles_changed', actor: principal.subject, subject: params.uid, from: change.from, to: change.to });
  return { status: 200, body: { user: publicAccount(change.account) } };
}
