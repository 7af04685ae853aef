import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Ctx } from '../context.ts';

/** The Fastify instance type every module's routes receive (zod type provider). */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/**
 * Resolves the caller of a request (401 when there is none); handed to every module's routes.
 * `sessionCheckedByAccess`: the route's service begins with the access check, which then answers
 * the session check (`Ctx.sessionCheck`) inside its own query.
 */
export type Authenticate = (request: FastifyRequest, options?: { sessionCheckedByAccess?: boolean }) => Promise<Ctx>;

/** Security requirement shown in OpenAPI for routes that need a bearer token or API key. */
export const BEARER = [{ bearerAuth: [] }];
