import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKeyStore } from '../auth/key-store.ts';
import { parseToken, redactToken, secretMatches } from '../auth/api-keys.ts';
import { type RateLimit, TokenBuckets } from '../auth/rate-limit.ts';
import { grants, modelAllowed, referencedModel, type RouteScope } from '../auth/scopes.ts';
import type { VerifiedKeys } from '../auth/verified-keys.ts';
import { Errors } from '../errors.ts';
import type { Principal } from '../kernel/container.ts';
import type { App } from './server.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a caller's key must hold; every route declares one (`public` for none). */
    scope?: RouteScope;
    /** The path parameter naming a model, checked against a key's model patterns. */
    modelParam?: string;
    /** A tighter per-key limit for this route, on top of the key's own. */
    rateLimit?: RateLimit;
    /** An inference call (V2 infer, chat completion): not logged on arrival and completion unless `server.logInferenceRequests`. */
    inference?: boolean;
  }
}

export interface AccessControlOptions {
  mode: 'apiKey' | 'none';
  keys: ApiKeyStore;
  /** Tokens verified lately; the key routes forget a key when it is revoked. */
  verified: VerifiedKeys<Principal & { rateLimit?: RateLimit }>;
  defaultRateLimit: RateLimit;
  /** Records an authorisation failure (key id only, never the secret). */
  auditDenied(entry: { actor: string; action: string; target: string; reason: string }): Promise<void>;
}

/** Routes added by libraries that cannot carry our route config. */
const LIBRARY_PUBLIC_PREFIXES = ['/docs'];

/** Full access for `auth.mode: none`, local development only. */
const DEVELOPER: Principal = Object.freeze({
  id: 'dev',
  kind: 'dev',
  scopes: Object.freeze(['admin'] as const),
  models: null,
});

/**
 * Access control in one place: every route must declare a scope (checked as routes are added, so a route
 * without one stops the server from starting), and one onRequest hook authenticates the key, checks the scope,
 * the model patterns and the rate limits, then puts the principal into the request's DI scope.
 */
export interface DeclaredRoute {
  method: string;
  url: string;
  scope: RouteScope;
  modelParam?: string;
}

export function installAccessControl(app: App, options: AccessControlOptions): DeclaredRoute[] {
  const buckets = new TokenBuckets();
  const declared: DeclaredRoute[] = [];

  app.addHook('onRoute', (route) => {
    route.config ??= {};
    if (!route.config.scope && LIBRARY_PUBLIC_PREFIXES.some((p) => route.url.startsWith(p))) route.config.scope = 'public';
    const scope = route.config.scope;
    if (!scope) {
      throw new Errors.RouteWithoutScope(
        `route ${String(route.method)} ${route.url} declares no scope; add config: { scope: 'read' | 'infer' | 'write' | 'deploy' | 'admin' | 'public' }`,
      );
    }
    for (const method of [route.method].flat()) {
      declared.push({ method, url: route.url, scope, ...(route.config.modelParam ? { modelParam: route.config.modelParam } : {}) });
    }
    // Shown in the OpenAPI document as the route's security requirement.
    route.schema = { ...route.schema, security: scope === 'public' ? [] : [{ apiKey: [scope] }] } as typeof route.schema;
  });

  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    const scope = config.scope ?? 'public';
    if (options.mode === 'none') {
      request.principal = DEVELOPER;
      return;
    }
    if (scope === 'public') return;
    const principal = await authenticate(request, reply);
    // Charged before the checks below: a key that is refused still spends its requests, so it cannot flood the
    // audit log with denials.
    applyLimit(reply, buckets.take(`key:${principal.id}`, principal.rateLimit ?? options.defaultRateLimit));
    const target = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const deny = async (error: Error & { code: string }) => {
      await options.auditDenied({ actor: principal.id, action: 'auth.denied', target, reason: error.message });
      throw error;
    };
    if (!grants(principal.scopes, scope)) {
      await deny(
        new Errors.Forbidden(
          `API key ${principal.id} lacks the "${scope}" scope this route needs (it has: ${principal.scopes.join(', ') || 'none'})`,
        ),
      );
    }
    const model = config.modelParam ? (request.params as Record<string, string | undefined>)[config.modelParam] : undefined;
    if (model !== undefined && !modelAllowed(principal.models, referencedModel(model))) {
      await deny(new Errors.Forbidden(`API key ${principal.id} may not access model "${referencedModel(model)}"`));
    }
    if (config.rateLimit) {
      applyLimit(reply, buckets.take(`route:${request.routeOptions.url}:${principal.id}`, config.rateLimit));
    }
    request.principal = principal;
  });
  return declared;

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal & { rateLimit?: RateLimit }> {
    const header = request.headers.authorization;
    const target = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const refuse = async (actor: string, message: string): Promise<never> => {
      // Failed attempts are limited per client address, as a key's requests are per key.
      applyLimit(reply, buckets.take(`client:${request.ip}`, options.defaultRateLimit));
      await options.auditDenied({ actor, action: 'auth.denied', target, reason: message });
      throw new Errors.Unauthenticated(message);
    };
    if (!header) return refuse('anonymous', 'this route needs an API key: send "Authorization: Bearer mp_…"');
    const [kind, token = ''] = header.split(' ', 2);
    if (kind?.toLowerCase() !== 'bearer') return refuse('anonymous', 'the Authorization header must be "Bearer <API key>"');
    const known = options.verified.get(token);
    if (known) return known;
    const parsed = parseToken(token.trim());
    if (!parsed) return refuse('anonymous', 'the API key is malformed (expected mp_<id>_<secret>)');
    const record = await options.keys.getKey(parsed.id);
    const valid =
      record !== undefined &&
      record.revokedAt === null &&
      (record.expiresAt === null || Date.parse(record.expiresAt) > Date.now()) &&
      secretMatches(parsed.secret, record.salt, record.hash);
    if (!valid) return refuse(`key:${parsed.id}`, `API key ${redactToken(token.trim())} is invalid, expired or revoked`);
    const principal: Principal & { rateLimit?: RateLimit } = {
      id: record.id,
      kind: 'key',
      scopes: record.scopes,
      models: record.models,
      ...(record.rateLimit ? { rateLimit: record.rateLimit } : {}),
      ...(record.budget ? { budget: record.budget } : {}),
    };
    options.verified.remember(token, principal, record.expiresAt);
    return principal;
  }
}

/** For a model named in a request body (a registry reference, a deployment's model): 403 unless the key may access it. */
export function assertModelAllowed(principal: Principal, reference: string): void {
  const model = referencedModel(reference);
  if (!modelAllowed(principal.models, model)) throw new Errors.Forbidden(`API key ${principal.id} may not access model "${model}"`);
}

function applyLimit(reply: FastifyReply, decision: ReturnType<TokenBuckets['take']>): void {
  reply.header('ratelimit-limit', decision.limit);
  reply.header('ratelimit-remaining', decision.remaining);
  reply.header('ratelimit-reset', decision.resetSeconds);
  if (!decision.allowed) {
    reply.header('retry-after', decision.retryAfterSeconds);
    throw new Errors.RateLimited(`rate limit exceeded: ${decision.limit} requests burst; retry after ${decision.retryAfterSeconds} s`);
  }
}
