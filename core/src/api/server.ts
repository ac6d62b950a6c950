import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Errors } from '../errors.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { AwilixContainer } from 'awilix';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { RequestCradle } from '../kernel/container.ts';
import { ANONYMOUS, createRequestScope, type Principal } from '../kernel/container.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { CORE_VERSION } from '../version.ts';
import { sendError } from './errors.ts';
import { finishOpenApi } from './openapi.ts';
import { type DeclaredRoute, installAccessControl } from './access-control.ts';
import { VerifiedKeys } from '../auth/verified-keys.ts';
import { adminRoutes } from './routes/admin.ts';
import { blobRoutes } from './routes/blobs.ts';
import { keyRoutes } from './routes/keys.ts';
import { modelRoutes } from './routes/models.ts';
import { v2Routes } from './routes/v2.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { gatewayRoutes } from './routes/gateway.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { systemRoutes } from './routes/system.ts';
import type { CoreServices } from '../services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's DI scope: kernel services plus `requestId` and `principal`; disposed when the response ends. */
    diScope: AwilixContainer<RequestCradle>;
    /** Who is calling, set by access control before any handler runs. */
    principal: Principal;
  }
}

const SCOPE = Symbol('diScope');

export interface ServerExtras {
  /** Every route with the scope it declared, for the route × role test matrix and `modelplane routes`. */
  routes: DeclaredRoute[];
}

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

function readPem(kernel: Kernel, file: string): Buffer {
  const path = resolve(kernel.loaded.dir, file);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Errors.ConfigInvalid(`server.https: cannot read ${path}: ${(error as Error).message}`);
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP server over a set-up kernel. Does not listen. */
export async function buildServer(kernel: Kernel, services: CoreServices): Promise<{ app: App } & ServerExtras> {
  const { server, auth } = kernel.loaded.config;
  const tls = server.https
    ? { https: { key: readPem(kernel, server.https.keyFile), cert: readPem(kernel, server.https.certFile) } }
    : {};
  const app = Fastify({
    ...tls,
    loggerInstance: kernel.logger as FastifyBaseLogger,
    bodyLimit: server.bodyLimit,
    requestTimeout: server.requestTimeoutMs,
    // A caller-supplied id is kept when it is safe to log, so traces join across services.
    genReqId: (req) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    logController: new LogController({
      disableRequestLogging: server.logInferenceRequests ? false : (request) => (request as FastifyRequest).routeOptions?.config?.inference === true,
    }),
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      Object.assign(new Error(`no route for ${request.method} ${request.url.split('?')[0]}`), {
        statusCode: 404,
        code: 'MP_ERR_ROUTE_NOT_FOUND',
      }),
      request,
      reply,
    ),
  );

  // The request's DI scope is made on first use: most requests (inference above all) never ask for it, and making
  // and disposing one costs more than the rest of access control.
  app.decorateRequest('principal', null as never);
  app.decorateRequest('diScope', {
    getter(this: FastifyRequest & { [SCOPE]?: AwilixContainer<RequestCradle> }) {
      this[SCOPE] ??= createRequestScope(kernel.container, this.id, this.principal ?? ANONYMOUS);
      return this[SCOPE];
    },
  });
  app.addHook('onRequest', async (request, reply) => {
    request.principal = ANONYMOUS;
    reply.header('x-request-id', request.id);
  });
  // Once close() has begun, answer in-flight requests with `Connection: close` so keep-alive sockets do not
  // hold the shutdown open until their idle timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (!app.server.listening) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.countHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
    await (request as FastifyRequest & { [SCOPE]?: AwilixContainer<RequestCradle> })[SCOPE]?.dispose();
  });

  const verified = new VerifiedKeys();
  const routes = installAccessControl(app, {
    mode: auth.mode,
    keys: services.keys,
    verified,
    defaultRateLimit: auth.rateLimit,
    auditDenied: (entry) => services.audit(entry),
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Modelplane',
        version: CORE_VERSION,
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        description:
          'Model registry, Open Inference Protocol (V2) serving and OpenAI-compatible gateway. ' +
          'Management API under /api/v1, inference under /v2, gateway under /v1.',
      },
      tags: [
        { name: 'system', description: 'Health, plugins, API description' },
        { name: 'registry', description: 'Models, versions, files, aliases, status, licenses' },
        { name: 'access control', description: 'API keys' },
        { name: 'admin', description: 'Audit log, garbage collection' },
        { name: 'inference (V2)', description: 'Open Inference Protocol (KServe V2) with Triton extensions' },
        { name: 'deployments', description: 'Deployments: traffic splits, validated swaps, canary rollouts, shadow, A/B, updates' },
        { name: 'gateway', description: 'OpenAI-compatible LLM gateway: chat, routing, costs, budgets' },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A Modelplane API key: `Authorization: Bearer mp_…`' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: finishOpenApi,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(systemRoutes(kernel));
  await app.register(keyRoutes({ keys: services.keys, audit: services.audit, onRevoked: (id) => verified.forget(id) }));
  await app.register(blobRoutes(services, kernel.loaded.config.storage.maxBlobBytes));
  await app.register(modelRoutes(services, kernel.loaded.config));
  await app.register(adminRoutes(services));
  await app.register(
    v2Routes({
      models: services.models,
      deployments: services.deployments,
      metrics: services.metrics,
      inferBodyLimit: kernel.loaded.config.serving.inferBodyLimit,
      declared: () => [...kernel.loaded.config.models.filter((m) => m.load).map((m) => m.name), ...kernel.loaded.config.deployments.map((d) => d.name)],
    }),
  );
  await app.register(deploymentRoutes(services));
  await app.register(gatewayRoutes({ gateway: services.gateway, metering: services.metering, budgets: services.budgets }));
  await app.register(metricsRoutes(services.metrics, server.metricsPublic));
  return { app, routes };
}
