/**
 * Errors are values with a stable `code`. Services throw `AppError`; the HTTP layer maps it once
 * to `application/problem+json`. Anything else becomes a bare 500 so no SQL or stack leaks.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'token_expired'
  | 'token_invalid'
  | 'token_reused'
  | 'oauth_state_invalid'
  | 'oauth_failed'
  | 'email_unverified'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'email_taken'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'provider_unavailable'
  | 'provider_error'
  | 'service_unavailable'
  | 'workflow_invalid'
  | 'workflow_failed'
  | 'internal_error';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  token_expired: 401,
  token_invalid: 401,
  token_reused: 401,
  oauth_state_invalid: 400,
  oauth_failed: 400,
  email_unverified: 403,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  email_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  provider_unavailable: 503,
  provider_error: 502,
  service_unavailable: 503,
  workflow_invalid: 422,
  workflow_failed: 502,
  internal_error: 500,
};

export interface FieldProblem {
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldProblem[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { errors?: FieldProblem[]; extra?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
    this.errors = options.errors;
    this.extra = options.extra;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'You do not have permission to do this') => new AppError('forbidden', message);
export const unauthorized = (message = 'Authentication required') => new AppError('unauthorized', message);
export const badRequest = (message: string, field?: string) =>
  new AppError('validation_failed', message, field ? { errors: [{ field, message }] } : {});
