import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeyStore } from '../../auth/key-store.ts';
import { CreateKeyBody, createKey, publicKey } from '../../auth/keys-service.ts';
import { KEY_SCOPES } from '../../auth/scopes.ts';
import { Errors } from '../../errors.ts';
import { ErrorEnvelope } from '../errors.ts';

const KeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(KEY_SCOPES)),
    models: z.array(z.string()).nullable(),
    rateLimit: z.object({ perSecond: z.number(), burst: z.number() }).nullable(),
    budget: z.object({ usd: z.string(), period: z.enum(['daily', 'monthly']) }).nullable(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export interface KeyRoutesDeps {
  keys: ApiKeyStore;
  audit(entry: { actor: string; action: string; target: string; details?: unknown }): Promise<void>;
  /** Called once a key is revoked, so cached verifications of it end now. */
  onRevoked?(id: string): void;
}

export function keyRoutes(deps: KeyRoutesDeps): FastifyPluginAsync {
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['access control'];

    app.post(
      '/api/v1/keys',
      {
        // A per-route limit on top of the key's own: minting keys in bulk is never legitimate.
        config: { scope: 'admin', rateLimit: { perSecond: 1, burst: 20 } },
        schema: {
          tags,
          summary: 'Create an API key; the token is in this response only',
          body: CreateKeyBody,
          response: { 201: KeyView.extend({ token: z.string().describe('Shown once; only a salted hash is stored') }), 400: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        // The key and its audit entry are stored together: a crash leaves both or neither.
        const { token, record } = await deps.keys.transaction(async () => {
          const created = await createKey(deps.keys, request.body);
          await deps.audit({ actor: request.principal.id, action: 'key.create', target: `key:${created.record.id}`, details: { scopes: created.record.scopes, models: created.record.models } });
          return created;
        });
        return reply.code(201).send({ ...publicKey(record), token });
      },
    );

    app.get(
      '/api/v1/keys',
      { config: { scope: 'admin' }, schema: { tags, summary: 'List API keys (never their secrets)', response: { 200: z.object({ keys: z.array(KeyView) }) } } },
      async () => ({ keys: (await deps.keys.listKeys()).map(publicKey) }),
    );

    app.delete(
      '/api/v1/keys/:id',
      {
        config: { scope: 'admin' },
        schema: { tags, summary: 'Revoke an API key; effective on the next request', params: z.object({ id: z.string() }), response: { 200: KeyView, 404: ErrorEnvelope } },
      },
      async (request) => {
        const record = await deps.keys.transaction(async () => {
          const revoked = await deps.keys.revokeKey(request.params.id, new Date().toISOString());
          if (!revoked) throw new Errors.NotFound(`no API key with id "${request.params.id}"`);
          await deps.audit({ actor: request.principal.id, action: 'key.revoke', target: `key:${revoked.id}` });
          return revoked;
        });
        deps.onRevoked?.(record.id);
        return publicKey(record);
      },
    );
  };
}
