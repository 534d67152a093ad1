/**
 * Every error a client can receive, declared once: the stable code clients program against, its
 * HTTP status, and its message. A message names its variable parts as `{name}`; raising the error
 * must supply them (api-error.ts checks that by type). Nothing else decides a status: the error
 * mapper reads it here. The OpenAPI document lists these codes, and the web client's words
 * (web/src/messages.ts) are typed by them, so a code without words fails the typecheck.
 */
export interface ErrorSpec {
  status: number;
  message: string;
  /**
   * The RFC 6750 challenge of a 401: `token` when a bearer token was presented and refused
   * (`error="invalid_token"`); otherwise the bare challenge. Every 401 carries one.
   */
  challenge?: 'token';
}

export const ERRORS = {
  // The request itself
  bad_request: { status: 400, message: 'The request is not valid HTTP: {reason}.' },
  validation_failed: { status: 400, message: 'The request is not valid; see details.' },
  invalid_json: { status: 400, message: 'The body is not valid {what}.' },
  body_required: { status: 400, message: 'This route needs a JSON body.' },
  body_unreadable: { status: 400, message: 'The request body could not be read.' },
  unexpected_body: { status: 400, message: 'This route takes no request body.' },
  invalid_cursor: { status: 400, message: 'The cursor is not valid.' },
  not_found: { status: 404, message: 'No such {what}.' },
  method_not_allowed: { status: 405, message: 'Use one of: {allowed}.' },
  request_timeout: { status: 408, message: 'The request did not arrive in time.' },
  payload_too_large: { status: 413, message: 'The request body is too large: {reason}.' },
  unsupported_media_type: { status: 415, message: 'Send the body as {expected}.' },
  expectation_failed: { status: 417, message: 'The only expectation understood is 100-continue.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  rate_limited: { status: 429, message: 'Too many {what}. Retry after {seconds} s.' },

  // Who is asking
  missing_token: { status: 401, message: 'This route needs an access token: Authorization: Bearer <token>.' },
  invalid_token: { status: 401, message: 'The access token is not valid: {reason}.', challenge: 'token' },
  token_expired: { status: 401, message: 'The access token has expired.', challenge: 'token' },
  invalid_refresh_token: { status: 401, message: 'No session, or it has ended. Sign in again.' },
  invalid_credentials: { status: 401, message: 'The email or the password is wrong.' },
  invalid_mfa_code: { status: 401, message: 'The code is wrong, expired or already used.' },
  mfa_code_required: { status: 401, message: 'This account has two-step sign-in: give a code from the authenticator app, or a recovery code.' },
  invalid_challenge: { status: 401, message: 'The sign-in has expired or had too many wrong codes. Sign in again.' },
  app_check_missing: { status: 401, message: 'This route needs an App Check token: X-Firebase-AppCheck.' },
  app_check_invalid: { status: 401, message: 'The App Check token is not valid: {reason}.' },
  app_check_replayed: { status: 401, message: 'This App Check token was used already: this route takes each one once. Get a new (limited-use) token.' },
  signature_invalid: { status: 401, message: 'The request signature is not valid: {reason}.' },
  signature_expired: { status: 401, message: 'The request was signed more than {seconds} s from now: sign it again with the current time.' },
  signature_replayed: { status: 401, message: 'This signature was used already: sign each request anew.' },
  forbidden: { status: 403, message: 'Your roles do not allow {action}.' },
  mfa_required: { status: 403, message: 'This action needs a recent multi-factor sign-in (step-up).' },
  reauthentication_required: { status: 403, message: 'Give your current password (or sign in again with two-step sign-in) to change this.' },
  current_password_wrong: { status: 403, message: 'The current password is wrong.' },
  recent_sign_in_required: { status: 403, message: 'This change needs a sign-in within the last {minutes} minutes. Sign in again.' },
  origin_not_allowed: { status: 403, message: 'This origin may not {action}.' },
  csrf_token_invalid: { status: 403, message: 'Send the X-CSRF-Token this session was given.' },
  email_not_verified: { status: 403, message: 'Confirm your email address first: follow the link mailed to you, or ask for a new one.' },
  account_disabled: { status: 403, message: 'This account is disabled. Ask an administrator.' },

  // Accounts
  weak_password: { status: 400, message: '{reason}' },
  verification_link_invalid: { status: 400, message: 'This confirmation link is not valid: it was used, it expired, or the address changed. Ask for a new one.' },
  email_already_verified: { status: 409, message: 'Your email address is already confirmed.' },
  email_unchanged: { status: 409, message: 'This is already the address of your account.' },
  email_taken: { status: 409, message: 'This address has an account of its own now: nothing was changed.' },
  email_change_link_invalid: { status: 400, message: 'This link is not valid: it was used, it expired, or the account changed since. Ask again.' },
  reset_link_invalid: { status: 400, message: 'This reset link is not valid: it was used, it expired, or the address changed. Ask for a new one.' },
  last_admin: { status: 409, message: 'This is the last admin: make another admin first.' },
  own_account: { status: 409, message: 'Admins cannot {action} their own account.' },
  mfa_already_enabled: { status: 409, message: 'MFA is already on. Disable it first to enroll again.' },
  mfa_not_enrolled: { status: 409, message: 'Enroll first: POST /auth/mfa/enroll.' },
  mfa_not_enabled: { status: 409, message: 'MFA is not on.' },

  // Uploads
  file_required: { status: 400, message: 'Send a file in the form field "{field}".' },
  unexpected_field: { status: 400, message: 'Send one file, in the form field "{field}", and nothing else.' },
  malformed_multipart: { status: 400, message: 'The multipart body is malformed.' },
  empty_file: { status: 400, message: 'The file is empty.' },
  upload_aborted: { status: 400, message: 'The upload ended before it was complete; nothing was kept.' },
  file_too_large: { status: 413, message: 'The file is larger than {limit} bytes.' },
  quota_exceeded: { status: 413, message: 'The file does not fit in your storage quota ({left} bytes left); delete some uploads first.' },
  too_many_files: { status: 413, message: 'Send one file per request.' },
  image_too_large: { status: 413, message: 'The image is too large: {reason}.' },
  extension_not_allowed: { status: 415, message: 'The file name must end in one of: {allowed}.' },
  declared_type_not_allowed: { status: 415, message: "The file's declared Content-Type must be one of: {allowed}." },
  content_not_allowed: { status: 415, message: "The file's content is not one of: {allowed}." },
  extension_mismatch: { status: 415, message: "The file name's extension does not match the file's content." },
  declared_type_mismatch: { status: 415, message: "The file's declared Content-Type does not match the file's content." },
  image_unreadable: { status: 415, message: 'The image is malformed or truncated: it could not be decoded.' },

  // Come back shortly: nothing was changed, a retry is safe
  store_unavailable: { status: 503, message: 'The data store did not answer in time. Retry shortly.' },
  store_contention: { status: 503, message: 'The data store is busy; nothing was changed. Retry shortly.' },
  blob_store_unavailable: { status: 503, message: 'File storage is unavailable; nothing was changed. Retry shortly.' },
  auth_busy: { status: 503, message: 'Too many sign-ins and sign-ups are in progress. Retry shortly.' },
  firebase_auth_unavailable: { status: 503, message: 'Firebase Auth could not be reached to verify the token; nothing was done. Retry shortly.' },
  app_check_unavailable: { status: 503, message: "App Check's keys could not be fetched just now; nothing was done. Retry shortly." },
  breached_password_check_unavailable: { status: 503, message: 'The password could not be checked against known breaches just now; nothing was changed. Retry shortly.' },
  password_check_unavailable: { status: 503, message: 'The password could not be checked just now; nothing was created. Retry shortly.' },
  upload_busy: { status: 503, message: 'Too many images are being processed right now; nothing was kept. Retry shortly.' },
  unavailable: { status: 503, message: 'The service could not start; retry shortly.' },

  internal_error: { status: 500, message: 'Something went wrong on our side. Quote the request id if you report it.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];
