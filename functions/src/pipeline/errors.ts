/**
 * Errors a client may see. Each has a stable `code` (the contract clients program against),
 * an HTTP status and a message written for the client. Anything else thrown is an internal
 * error and is mapped to a bare 500 by error-mapper.ts.
 */
export interface HttpErrorOptions {
  details?: unknown;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

export class BadRequestError extends HttpError {
  constructor(code: string, message: string, options?: HttpErrorOptions) {
    super(400, code, message, options);
  }
}

export class ValidationError extends HttpError {
  constructor(details: { location: 'params' | 'query' | 'body'; path: string; message: string }[]) {
    super(400, 'validation_failed', 'The request is not valid; see details.', { details });
  }
}

/** 401 with an RFC 6750 challenge. */
export class UnauthorizedError extends HttpError {
  constructor(code: 'missing_token' | 'invalid_token' | 'token_expired', message: string) {
    const challenge =
      code === 'missing_token'
        ? 'Bearer realm="bastion"'
        : `Bearer realm="bastion", error="invalid_token", error_description="${message}"`;
    super(401, code, message, { headers: { 'WWW-Authenticate': challenge } });
  }
}

export class ForbiddenError extends HttpError {
  constructor(code = 'forbidden', message = 'Your roles do not allow this.') {
    super(403, code, message);
  }
}

/** The route wants a token whose `amr` includes `mfa`. */
export class StepUpRequiredError extends ForbiddenError {
  constructor() {
    super('mfa_required', 'This action needs a recent multi-factor sign-in (step-up).');
  }
}

/** Security changes (MFA on or off, ...) want a sign-in of the last few minutes, not just a valid token. */
export class RecentSignInRequiredError extends ForbiddenError {
  constructor(maxAgeSeconds: number) {
    super('recent_sign_in_required', `This change needs a sign-in within the last ${Math.round(maxAgeSeconds / 60)} minutes. Sign in again.`);
  }
}

export class NotFoundError extends HttpError {
  constructor(message = 'Not found.') {
    super(404, 'not_found', message);
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(allowed: string[]) {
    super(405, 'method_not_allowed', `Use one of: ${allowed.join(', ')}.`, { headers: { Allow: allowed.join(', ') } });
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `The body is larger than ${limit} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(expected: string) {
    super(415, 'unsupported_media_type', `Send the body as ${expected}.`);
  }
}

export class RateLimitedError extends HttpError {
  constructor(retryAfterSeconds: number, headers: Record<string, string>, message = 'Too many requests.') {
    super(429, 'rate_limited', `${message} Retry after ${retryAfterSeconds} s.`, {
      headers: { ...headers, 'Retry-After': String(retryAfterSeconds) },
    });
  }
}

export class ServiceUnavailableError extends HttpError {
  constructor(code: string, message: string, options?: HttpErrorOptions) {
    super(503, code, message, { ...options, headers: { 'Retry-After': '1', ...options?.headers } });
  }
}

export class ConflictError extends HttpError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}
