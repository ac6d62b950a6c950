import { formatPath } from '@modelplane/plugin-sdk';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelAllowed } from '../../auth/scopes.ts';
import { Errors } from '../../errors.ts';
import { assertModelAllowed } from '../access-control.ts';
import { ErrorEnvelope } from '../errors.ts';
import { DeploymentSpecSchema, type DeploymentSpec } from '../../serving/deployments/spec.ts';
import type { CoreServices } from '../../services.ts';


const NameParams = z.object({ name: z.string() });


/**
 * A PATCH is merged into the current spec (top-level keys replace, `rollout` merges key by key, `null` removes an
 * optional key) and the result validated as a whole, so defaults are never silently re-applied to unsent keys.
 */
export function mergeSpec(current: DeploymentSpec, patch: Record<string, unknown>): DeploymentSpec {
  for (const key of ['name', 'model'] as const) {
    if (key in patch && patch[key] !== current[key]) throw new Errors.BadRequest(`a deployment's ${key} cannot change; create another deployment`);
  }
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (key === 'rollout' && typeof value === 'object') merged.rollout = { ...current.rollout, ...value };
    else merged[key] = value;
  }
  const parsed = DeploymentSpecSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Errors.BadRequest(`invalid deployment: ${parsed.error.issues.map((i) => `${formatPath('', i.path)}: ${i.message}`).join('; ')}`, { details: parsed.error.issues });
  }
  return parsed.data;
}

/** `/api/v1/deployments…`: scope `read` to look, `deploy` to change, `infer` to send feedback (callers know the answers). */
export function deploymentRoutes(services: CoreServices): FastifyPluginAsync {
  const { deployments } = services;
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['deployments'];
    const read = { scope: 'read' as const, modelParam: 'name' };
    const deploy = { scope: 'deploy' as const, modelParam: 'name' };
    const actor = (request: { principal: { id: string } }) => request.principal.id;

    // A key limited to some models sees only the deployments it may call (as GET …/{name} allows only those).
    app.get('/api/v1/deployments', { config: { scope: 'read' }, schema: { tags, summary: 'List deployments with their live traffic and rollout state' } }, async (request) => ({
      deployments: deployments.list().filter((d) => modelAllowed(request.principal.models, d.spec.name)),
    }));

    app.post(
      '/api/v1/deployments',
      {
        config: { scope: 'deploy' },
        schema: {
          tags,
          summary: 'Create a deployment: load and warm up its versions, then serve them under its name',
          body: DeploymentSpecSchema,
          response: { 201: z.unknown().describe('The deployment as GET …/{name} shows it'), 400: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope },
        },
      },
      async (request, reply) => {
        // No path parameter names the model here: the key's model patterns apply to the name served and the model behind it.
        assertModelAllowed(request.principal, request.body.name);
        assertModelAllowed(request.principal, request.body.model);
        return reply.code(201).send(await deployments.create(request.body, actor(request)));
      },
    );

    app.get('/api/v1/deployments/:name', { config: read, schema: { tags, summary: 'A deployment: spec, traffic, rollout, per-version stats, shadow report', params: NameParams } }, async (request) =>
      deployments.view(request.params.name),
    );

    app.patch(
      '/api/v1/deployments/:name',
      {
        config: deploy,
        schema: { tags, summary: 'Change a deployment (A/B weights, shadow, policies); new versions are validated before they take traffic', params: NameParams, body: z.record(z.string(), z.unknown()) },
      },
      async (request) => {
        const { name: _name, model: _model, ...changes } = mergeSpec(deployments.view(request.params.name).spec, request.body);
        return deployments.update(request.params.name, changes, actor(request));
      },
    );

    app.delete(
      '/api/v1/deployments/:name',
      { config: deploy, schema: { tags, summary: 'Delete a deployment; in-flight requests finish first', params: NameParams, response: { 204: z.void().describe('Deleted'), 404: ErrorEnvelope } } },
      async (request, reply) => {
        await deployments.remove(request.params.name, actor(request));
        return reply.code(204).send();
      },
    );

    app.post(
      '/api/v1/deployments/:name/rollout',
      {
        config: deploy,
        schema: {
          tags,
          summary: 'Roll out a version: load, warm up, validate, then swap or start canary steps (422 when validation fails; the current version keeps serving)',
          params: NameParams,
          body: z.strictObject({ version: z.string().min(1), strategy: z.enum(['canary', 'swap']).optional() }),
        },
      },
      async (request) => deployments.rollout(request.params.name, request.body.version, actor(request), request.body.strategy),
    );

    app.post('/api/v1/deployments/:name/promote', { config: deploy, schema: { tags, summary: 'Send all traffic to the canary now', params: NameParams } }, async (request) =>
      deployments.promote(request.params.name, actor(request)),
    );

    app.post(
      '/api/v1/deployments/:name/abort',
      { config: deploy, schema: { tags, summary: 'Stop the rollout and send all traffic back to the stable version', params: NameParams, body: z.strictObject({ reason: z.string().min(1).optional() }).nullish() } },
      async (request) => deployments.abort(request.params.name, actor(request), request.body?.reason),
    );

    app.post(
      '/api/v1/deployments/:name/feedback',
      {
        config: { scope: 'infer' as const, modelParam: 'name' },
        schema: {
          tags,
          summary: 'Labelled feedback on answers (model_version from the V2 response); feeds canary accuracy analysis',
          params: NameParams,
          body: z.strictObject({
            items: z
              .array(
                z.union([
                  z.strictObject({ model_version: z.string().min(1), correct: z.boolean() }),
                  z.strictObject({ model_version: z.string().min(1), prediction: z.union([z.string(), z.number()]), label: z.union([z.string(), z.number()]) }),
                ]),
              )
              .min(1)
              .max(10_000),
          }),
        },
      },
      async (request) => {
        const items = request.body.items.map((item) => ({ version: item.model_version, correct: 'correct' in item ? item.correct : String(item.prediction) === String(item.label) }));
        return { accepted: deployments.feedback(request.params.name, items) };
      },
    );

    app.post(
      '/api/v1/updates/check',
      { config: { scope: 'deploy' }, schema: { tags, summary: 'Ask every update source for newer versions now; answers with each decision and why' } },
      async (request) => ({ decisions: await services.updates.check(actor(request)) }),
    );

    app.get(
      '/api/v1/deployments/:name/decisions',
      {
        config: read,
        schema: { tags, summary: 'Every decision on this deployment, newest first (rollout steps, rollbacks, validation, updates)', params: NameParams, querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
      },
      async (request) => ({ decisions: deployments.decisions(request.params.name, request.query.limit) }),
    );
  };
}
