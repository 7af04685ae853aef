import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Deps } from './deps.ts';
import { googleRoutes } from './modules/auth/google-routes.ts';
import { authRoutes, createAuthenticate } from './modules/auth/routes.ts';
import { botsRoutes } from './modules/bots/routes.ts';
import { chatRoutes } from './modules/chat/routes.ts';
import { documentsRoutes } from './modules/documents/routes.ts';
import { createServices, type Services } from './modules/index.ts';
import { retrievalRoutes } from './modules/retrieval/routes.ts';
import { teamsRoutes } from './modules/teams/routes.ts';
import { widgetRoutes } from './modules/widget/routes.ts';
import { workflowsRoutes } from './modules/workflows/routes.ts';
import { dbReadiness, healthRoutes, providerReadiness, type ReadinessCheck } from './platform/health/routes.ts';
import { registerProblemHandlers } from './platform/http/problem.ts';
import { requestId } from './platform/http/request-id.ts';
import type { App } from './platform/http/types.ts';
import { metricsRoutes } from './platform/metrics.ts';
import { registerRateLimits } from './platform/rate-limit.ts';
import { redisReadiness } from './platform/redis.ts';
import { VERSION } from './platform/version.ts';

export interface BuiltApp {
  app: App;
  services: Services;
}

/** Builds the HTTP app: platform plugins first, then each module's routes, registered by hand. */
export async function buildApp(deps: Deps, options: { readiness?: ReadinessCheck[] } = {}): Promise<BuiltApp> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId: requestId,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: 1024 * 1024,
    // Only these proxies may name the client (X-Forwarded-For): per-IP limits count that client.
    trustProxy: config.trustProxy,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // During shutdown, answers to in-flight requests close their connection, so keep-alive
  // clients cannot hold the server open past its drain.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  registerProblemHandlers(app);
  metricsRoutes(app, { token: config.metricsToken });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'SnapAgent API', version: VERSION, description: 'Self-hostable RAG platform backend' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Access token (JWT) or API key (sa_…)' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  // The docs page gets its own CSP (its scripts and styles); every other answer gets helmet's strict one.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(helmet, {
    // A JSON API: no document of ours loads anything or may be framed.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  // Only Google sign-in's browser binding is a cookie; the API itself takes Bearer tokens.
  await app.register(cookie);
  await app.register(cors, {
    origin: config.corsOrigins.length === 0 ? false : config.corsOrigins.includes('*') ? true : config.corsOrigins,
    credentials: !config.corsOrigins.includes('*'),
    exposedHeaders: ['x-request-id', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
  });

  // After swagger-ui and CORS: /docs, /health, /ready are exempt; preflights are answered first.
  await registerRateLimits(app, {
    settings: config.rateLimit,
    redis: deps.redis,
    keyPrefix: config.redis?.keyPrefix ?? 'snapagent:',
  });

  await app.register(multipart, {
    limits: {
      fileSize: config.maxUploadBytes,
      files: config.maxUploadFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 64,
    },
  });

  const services = createServices(deps);
  const authenticate = createAuthenticate(services.auth);

  healthRoutes(app, {
    checks: [
      dbReadiness(deps.db),
      ...providerReadiness(deps),
      ...(deps.redis ? [redisReadiness(deps.redis)] : []),
      ...(options.readiness ?? []),
    ],
  });
  authRoutes(app, { auth: services.auth, apiKeys: services.apiKeys, teams: services.teams, authenticate });
  googleRoutes(app, {
    google: services.google,
    frontendUrl: config.auth.frontendUrl,
    redirectUri: config.auth.google?.redirectUri,
  });
  teamsRoutes(app, { teams: services.teams, authenticate });
  botsRoutes(app, { bots: services.bots, authenticate });
  documentsRoutes(app, { documents: services.documents, authenticate });
  retrievalRoutes(app, { retrieval: services.retrieval, authenticate });
  chatRoutes(app, { chat: services.chat, authenticate });
  workflowsRoutes(app, { workflows: services.workflows, authenticate });
  widgetRoutes(app, { apiKeys: services.apiKeys, access: services.access, chat: services.chat });

  return { app, services };
}
