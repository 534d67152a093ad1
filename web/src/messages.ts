import type { ErrorCode } from './error-codes.ts';

/**
 * Every error the API can answer, in words for the person using the app, by its stable code:
 * typed by the API's error catalog, so a code without words here fails the typecheck.
 */
const MESSAGES: Record<ErrorCode | 'network', string> = {
  validation_failed: 'Some fields are not valid.',
  bad_request: 'The app sent something the server could not read.',
  body_required: 'The app sent something the server could not read.',
  body_unreadable: 'The request was interrupted. Try again.',
  unexpected_body: 'The app sent something the server could not read.',
  method_not_allowed: 'The app asked for something the server does not do.',
  unsupported_media_type: 'The app sent something the server could not read.',
  expectation_failed: 'The app sent something the server could not read.',
  headers_too_large: 'The request was too large. Sign out and in again, then retry.',
  last_admin: 'This is the last admin. Make someone else an admin first.',
  own_account: 'You cannot do this to your own account: ask another admin.',
  account_disabled: 'This account is disabled. Ask an administrator.',
  file_required: 'Choose a file first.',
  unexpected_field: 'Choose one file at a time.',
  malformed_multipart: 'The file could not be sent. Try again.',
  unavailable: 'The service is starting. Try again in a moment.',
  invalid_json: 'The app sent something the server could not read.',
  invalid_credentials: 'The email or the password is wrong.',
  email_not_verified: 'Confirm your email address first: follow the link we mailed you (your account page sends a new one).',
  verification_link_invalid: 'This confirmation link has been used, has expired, or is not for this address. Ask for a new one from your account page.',
  email_already_verified: 'Your address is already confirmed.',
  reauthentication_required: 'Give your current password to change this.',
  current_password_wrong: 'The current password is wrong.',
  email_unchanged: 'This is already your address.',
  email_taken: 'That address has an account of its own now: your address stays as it was.',
  email_change_link_invalid: 'This link has been used, has expired, or your account changed since. Ask again from your account page.',
  reset_link_invalid: 'This reset link has been used, has expired, or is not for this address. Ask for a new one.',
  mfa_code_required: 'Your account has two-step sign-in: also give a code from your authenticator app, or a recovery code.',
  weak_password: 'Choose a stronger password.',
  invalid_mfa_code: 'That code is wrong, expired or was used already.',
  invalid_challenge: 'The sign-in took too long or had too many wrong codes. Sign in again.',
  mfa_required: 'This needs a recent sign-in with your authenticator app.',
  recent_sign_in_required: 'For your security, sign out and sign in again first (this needs a sign-in of the last few minutes).',
  mfa_already_enabled: 'Two-step sign-in is already on.',
  mfa_not_enrolled: 'Start the set-up first.',
  mfa_not_enabled: 'Two-step sign-in is not on.',
  missing_token: 'Please sign in.',
  invalid_token: 'Your sign-in is no longer valid. Please sign in again.',
  token_expired: 'Your sign-in has expired. Please sign in again.',
  invalid_refresh_token: 'Your session has ended. Please sign in again.',
  forbidden: 'Your account is not allowed to do this.',
  csrf_token_invalid: 'The page is out of date. Reload it and try again.',
  origin_not_allowed: 'This site may not use the API.',
  not_found: 'That no longer exists.',
  rate_limited: 'Too many requests.',
  payload_too_large: 'That is too large.',
  file_too_large: 'The file is too large.',
  quota_exceeded: 'Your storage is full. Delete some uploads first.',
  too_many_files: 'Choose one file at a time.',
  image_too_large: 'The image has too many pixels.',
  empty_file: 'The file is empty.',
  extension_not_allowed: 'Only .png, .jpg, .jpeg and .gif files can be uploaded.',
  declared_type_not_allowed: 'Only PNG, JPEG and GIF images can be uploaded.',
  content_not_allowed: 'The file is not a PNG, JPEG or GIF image.',
  extension_mismatch: "The file's name does not match what the file is (was it renamed?).",
  declared_type_mismatch: 'The file is not the kind of image it says it is.',
  image_unreadable: 'The image could not be read (is it damaged?).',
  upload_busy: 'Many images are being processed right now. Try again in a moment.',
  upload_aborted: 'The upload was interrupted. Try again.',
  auth_busy: 'Many people are signing in right now. Try again in a moment.',
  // Signed requests are for servers; a page never sends one.
  signature_invalid: 'The request was refused. Sign out and in again.',
  signature_expired: 'The request was refused. Sign out and in again.',
  signature_replayed: 'The request was refused. Sign out and in again.',
  app_check_missing: 'This app could not prove it is the genuine app. Reload the page, or update the app.',
  app_check_invalid: 'This app could not prove it is the genuine app. Reload the page, or update the app.',
  app_check_replayed: 'This app could not prove it is the genuine app. Try again.',
  firebase_auth_unavailable: 'Sign-in could not be checked just now. Try again in a moment.',
  app_check_unavailable: 'The service cannot check this app just now. Try again in a moment.',
  breached_password_check_unavailable: 'Your new password could not be checked just now. Try again in a moment.',
  password_check_unavailable: 'The password could not be checked just now. Try again in a moment.',
  invalid_cursor: 'The list changed or the link is out of date. Start from the first page.',
  request_timeout: 'The request took too long to arrive. Try again.',
  store_unavailable: 'The service is busy. Nothing was changed; try again shortly.',
  store_contention: 'The service is busy. Nothing was changed; try again shortly.',
  blob_store_unavailable: 'File storage is unavailable. Nothing was changed; try again shortly.',
  internal_error: 'Something went wrong on our side.',
  network: 'The server could not be reached. Check your connection.',
};

export interface ApiProblem {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number | undefined;
  requestId?: string | undefined;
}

/** What to tell the person: the words for the code, when to retry, and what to quote. */
export function describe(problem: ApiProblem): string {
  // A code this build does not know (a newer API) still gets the server's own message.
  const words = (MESSAGES as Record<string, string | undefined>)[problem.code] ?? problem.message;
  const retry = problem.retryAfterSeconds !== undefined ? ` Try again in ${problem.retryAfterSeconds} seconds.` : '';
  const reference = problem.status >= 500 && problem.requestId ? ` (reference ${problem.requestId})` : '';
  return `${words}${retry}${reference}`;
}
