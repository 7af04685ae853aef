import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, type ErrorCode, type FieldProblem } from '../errors.ts';

/**
 * Maps every error to RFC 9457 `application/problem+json` with a stable `code` and the request
 * id. Validation errors list each field. Unknown errors become a bare 500: no SQL, no stack.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      status: 404,
      code: 'not_found',
      detail: `No route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
}

interface Problem {
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldProblem[] | undefined;
  extra?: Record<string, unknown> | undefined;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem) {
  return reply
    .status(problem.status)
    .type('application/problem+json')
    .send({
      type: `https://snapagent.dev/problems/${problem.code}`,
      title: TITLES[problem.status] ?? 'Error',
      status: problem.status,
      code: problem.code,
      detail: problem.detail,
      ...(problem.errors ? { errors: problem.errors } : {}),
      ...(problem.extra ?? {}),
      request_id: request.id,
    });
}

function toProblem(error: FastifyError): Problem {
  if (error instanceof AppError) {
    return { status: error.status, code: error.code, detail: error.message, errors: error.errors, extra: error.extra };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = error.validation.map((v) => ({
      field: fieldName(error.validationContext, v.instancePath, v.params),
      message: v.message ?? 'is invalid',
    }));
    return {
      status: 400,
      code: 'validation_failed',
      detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      errors,
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return { status: 413, code: 'payload_too_large', detail: error.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return { status: 415, code: 'unsupported_media_type', detail: error.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'validation_failed', detail: error.message };
    case 'FST_ERR_RATE_LIMIT_EXCEEDED':
      return { status: 429, code: 'rate_limited', detail: error.message };
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: 'validation_failed', detail: error.message };
  }
  return { status: 500, code: 'internal_error', detail: 'Internal server error' };
}

function fieldName(context: string | undefined, path: string, params: unknown): string {
  const parts = path.split('/').filter(Boolean);
  const missing = (params as { missingProperty?: string } | undefined)?.missingProperty;
  if (missing) parts.push(missing);
  const where = context && context !== 'body' ? `${context}.` : '';
  return `${where}${parts.join('.')}` || (context ?? 'body');
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};
