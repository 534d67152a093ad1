/**
 * The auth function's two "come back shortly" answers, declared once: password work (scrypt,
 * the strength check) is bounded (work-queue.ts), and a request beyond the bound, or one whose
 * strength check failed or overran its deadline, gets 503 with Retry-After and a stable code,
 * never a 500 and never a wait without end. Nothing was changed and no password was judged, so
 * a retry is always safe and a refusal tells a guesser nothing.
 */
import { ApiError } from '../errors/api-error.ts';

/** Long enough for the line of derivations to move on (a few hashes of ~0.1–1 s, two at a time). */
export const BUSY_RETRY_AFTER_SECONDS = 2;

/** Too many passwords are being hashed or checked right now. */
export class AuthBusyError extends ApiError<'auth_busy'> {
  override name = 'AuthBusyError';

  constructor(cause?: unknown) {
    super('auth_busy', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS, cause });
  }
}

/** The strength checker crashed or overran its deadline (password-strength.ts): the password was not judged. */
export class PasswordCheckUnavailableError extends ApiError<'password_check_unavailable'> {
  override name = 'PasswordCheckUnavailableError';

  constructor(cause?: unknown) {
    super('password_check_unavailable', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS, cause });
  }
}
