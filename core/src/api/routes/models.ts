import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelAllowed } from '../../auth/scopes.ts';
import type { Config } from '../../kernel/config.ts';
import type { CoreServices } from '../../services.ts';
import { ErrorEnvelope } from '../errors.ts';

const Status = z.enum(['testing', 'active', 'deprecated', 'retired']);
const ScanStatus = z.enum(['SCANNING', 'PASSED', 'FAILED', 'SKIPPED']);
const FileEntry = z.strictObject({
  path: z.string().min(1).max(1024),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 lowercase hex digits>'),
  size: z.int().nonnegative(),
});

const Model = z
  .object({
    name: z.string(),
    description: z.string(),
    tasks: z.array(z.string()),
    tags: z.array(z.string()),
    owner: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Model' });

const Version = z
  .object({
    model: z.string(),
    version: z.string(),
    files: z.array(z.object({ path: z.string(), digest: z.string(), size: z.number() })),
    manifestDigest: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    status: Status,
    scanStatus: ScanStatus.nullable(),
    scannedWith: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Version' });

const ModelWrite = z.strictObject({
  description: z.string().max(10_000).optional(),
  tasks: z.array(z.string().min(1).max(100)).max(50).optional(),
  tags: z.array(z.string().min(1).max(100)).max(100).optional(),
  owner: z.string().max(200).nullable().optional(),
});

const NameParams = z.object({ name: z.string() });
const VersionParams = z.object({ name: z.string(), version: z.string().describe('A semantic version or an alias') });
const errors = { 400: ErrorEnvelope, 404: ErrorEnvelope, 409: ErrorEnvelope };

export function modelRoutes(services: CoreServices, config: Config): FastifyPluginAsync {
  const { registry } = services;
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['registry'];
    const read = { scope: 'read' as const, modelParam: 'name' };
    const write = { scope: 'write' as const, modelParam: 'name' };
    const actor = (request: { principal: { id: string } }) => request.principal.id;

    app.get(
      '/api/v1/models',
      {
        config: { scope: 'read' },
        schema: {
          tags,
          summary: 'List models, filtered, with cursor pagination',
          querystring: z.object({
            task: z.string().optional(),
            tag: z.string().optional(),
            framework: z.string().optional(),
            architecture: z.string().optional(),
            license: z.string().optional(),
            status: Status.optional(),
            max_params: z.coerce.number().int().nonnegative().optional(),
            cursor: z.string().optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
          }),
          response: { 200: z.object({ models: z.array(Model), nextCursor: z.string().nullable() }), 400: ErrorEnvelope },
        },
      },
      async (request) => {
        const { max_params, limit, cursor, ...query } = request.query;
        const filters = { ...query, ...(max_params === undefined ? {} : { maxParams: max_params }) };
        const patterns = request.principal.models;
        // A key limited to some models must still get full pages: read on, each time only as many as are still
        // missing (so the cursor never skips a model), until the page is full or the list ends. The number of reads
        // is bounded; a page may come back short with a cursor only after that many.
        const models = [];
        let next: string | null = cursor ?? null;
        for (let reads = 0; reads < 20 && models.length < limit; reads++) {
          const page = await registry.listModels({ ...filters, limit: limit - models.length, ...(next ? { cursor: next } : {}) });
          models.push(...page.items.filter((m) => modelAllowed(patterns, m.name)));
          next = page.nextCursor;
          if (!next) break;
        }
        return { models, nextCursor: next };
      },
    );

    app.post(
      '/api/v1/models',
      {
        config: { scope: 'write' },
        schema: { tags, summary: 'Create a model', body: ModelWrite.extend({ name: z.string() }), response: { 201: Model, ...errors } },
      },
      async (request, reply) => {
        const principal = request.principal;
        if (!modelAllowed(principal.models, request.body.name)) {
          return reply.code(403).send({ error: { code: 'MP_ERR_FORBIDDEN', message: `API key ${principal.id} may not create model "${request.body.name}"` } });
        }
        return reply.code(201).send(await registry.createModel(request.body, actor(request)));
      },
    );

    app.get(
      '/api/v1/models/:name',
      {
        config: read,
        schema: {
          tags,
          summary: 'Show a model with its versions and aliases',
          params: NameParams,
          response: { 200: Model.extend({ versions: z.array(Version), aliases: z.record(z.string(), z.string()) }), ...errors },
        },
      },
      async (request) => {
        const model = await registry.getModel(request.params.name);
        return { ...model, versions: await registry.listVersions(model.name), aliases: await registry.listAliases(model.name) };
      },
    );

    app.put(
      '/api/v1/models/:name',
      { config: write, schema: { tags, summary: 'Change a model’s description, tasks, tags or owner', params: NameParams, body: ModelWrite, response: { 200: Model, ...errors } } },
      async (request) => registry.updateModel(request.params.name, request.body, actor(request)),
    );

    app.delete(
      '/api/v1/models/:name',
      {
        config: write,
        schema: { tags, summary: 'Retire every version of a model (files stay until gc)', params: NameParams, response: { 200: z.object({ retired: z.number() }), ...errors } },
      },
      async (request) => ({ retired: await registry.retireModel(request.params.name, actor(request)) }),
    );

    app.get(
      '/api/v1/models/:name/versions',
      { config: read, schema: { tags, summary: 'List versions, newest first', params: NameParams, response: { 200: z.object({ versions: z.array(Version) }), ...errors } } },
      async (request) => ({ versions: await registry.listVersions(request.params.name) }),
    );

    app.post(
      '/api/v1/models/:name/versions',
      {
        config: write,
        schema: {
          tags,
          summary: 'Register an immutable version from uploaded files',
          description:
            'Upload each file to /api/v1/blobs first, then post the manifest. The same manifest and metadata again answers 200; ' +
            'different content under an existing version number answers 409.',
          params: NameParams,
          body: z.strictObject({
            version: z.string().describe('Semantic version, e.g. 1.4.0'),
            files: z.array(FileEntry).max(10_000).describe("At least one, except for a version with metadata.llm"),
            metadata: z
              .record(z.string(), z.unknown())
              .describe(
                'Required: framework, architecture, training_data_description, performance_metrics, license {id, restrictions}. ' +
                  'Optional: runtime, parameter_count, context_length, signature, task_types, requirements, changelog, known_limitations, ' +
                  'fine_tuning_params, deployment_recommendations, source, lineage. Every problem is reported at once.',
              ),
            status: Status.exclude(['retired']).optional(),
          }),
          response: { 200: Version, 201: Version, ...errors },
        },
      },
      async (request, reply) => {
        const { record, created } = await registry.registerVersion(request.params.name, request.body, actor(request));
        // Re-read: a scan may have started (scanStatus SCANNING) since the record was built.
        return reply.code(created ? 201 : 200).send(await registry.getVersion(record.model, record.version));
      },
    );

    app.get(
      '/api/v1/models/:name/versions/:version',
      { config: read, schema: { tags, summary: 'Show a version (by number or alias)', params: VersionParams, response: { 200: Version, ...errors } } },
      async (request) => registry.getVersion(request.params.name, request.params.version),
    );

    app.delete(
      '/api/v1/models/:name/versions/:version',
      { config: write, schema: { tags, summary: 'Retire a version (files stay until gc)', params: VersionParams, response: { 200: Version, ...errors } } },
      async (request) => registry.setStatus(request.params.name, request.params.version, 'retired', actor(request)),
    );

    app.put(
      '/api/v1/models/:name/versions/:version/status',
      {
        config: write,
        schema: {
          tags,
          summary: 'Move a version through testing → active → deprecated → retired',
          params: VersionParams,
          body: z.strictObject({ status: Status }),
          response: { 200: Version, ...errors },
        },
      },
      async (request) => registry.setStatus(request.params.name, request.params.version, request.body.status, actor(request)),
    );

    app.get(
      '/api/v1/models/:name/versions/:version/files/*',
      { config: read, schema: { tags, summary: 'Download one file of a version (digest-verified stream)', params: VersionParams.extend({ '*': z.string() }) } },
      async (request, reply) => {
        const { file, stream } = await registry.openFile(request.params.name, request.params.version, request.params['*']);
        reply.header('content-type', 'application/octet-stream').header('content-length', file.size).header('digest', file.digest);
        return reply.send(stream);
      },
    );

    const Finding = z
      .object({
        scanner: z.string(),
        scannerVersion: z.string(),
        severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']),
        file: z.string(),
        rule: z.string(),
        detail: z.string(),
        scannedAt: z.string(),
      })
      .meta({ id: 'Finding' });
    const ScanReport = z.object({ version: z.string(), status: ScanStatus.nullable(), findings: z.array(Finding) });

    app.post(
      '/api/v1/models/:name/versions/:version/scan',
      { config: write, schema: { tags, summary: 'Scan a version again with every installed scanner; answers when done', params: VersionParams, response: { 200: ScanReport, ...errors } } },
      async (request) => {
        const version = await registry.getVersion(request.params.name, request.params.version);
        const result = await services.scanning.scan(version, actor(request));
        return { version: version.version, ...result };
      },
    );

    app.post(
      '/api/v1/models/:name/scan',
      {
        config: write,
        schema: {
          tags,
          summary: 'Scan every version of a model that is not retired; answers when done',
          params: NameParams,
          response: { 200: z.object({ reports: z.array(ScanReport) }), ...errors },
        },
      },
      async (request) => {
        const reports = [];
        for (const version of await registry.listVersions(request.params.name)) {
          if (version.status === 'retired') continue;
          reports.push({ version: version.version, ...(await services.scanning.scan(version, actor(request))) });
        }
        return { reports };
      },
    );

    app.get(
      '/api/v1/models/:name/versions/:version/scan',
      { config: read, schema: { tags, summary: 'A version’s scan status and findings', params: VersionParams, response: { 200: ScanReport, ...errors } } },
      async (request) => {
        const version = await registry.getVersion(request.params.name, request.params.version);
        return { version: version.version, status: version.scanStatus, findings: await registry.metadata.listFindings(version.model, version.version) };
      },
    );

    app.get(
      '/api/v1/models/:name/aliases',
      { config: read, schema: { tags, summary: 'List aliases', params: NameParams, response: { 200: z.object({ aliases: z.record(z.string(), z.string()) }), ...errors } } },
      async (request) => ({ aliases: await registry.listAliases(request.params.name) }),
    );

    app.put(
      '/api/v1/models/:name/aliases/:alias',
      {
        config: write,
        schema: {
          tags,
          summary: 'Point an alias (default, production, …) at a version',
          params: NameParams.extend({ alias: z.string() }),
          body: z.strictObject({ version: z.string() }),
          response: { 200: z.object({ model: z.string(), alias: z.string(), version: z.string() }), ...errors },
        },
      },
      async (request) => {
        const target = await registry.setAlias(request.params.name, request.params.alias, request.body.version, actor(request));
        return { model: request.params.name, alias: request.params.alias, version: target.version };
      },
    );

    app.delete(
      '/api/v1/models/:name/aliases/:alias',
      { config: write, schema: { tags, summary: 'Remove an alias', params: NameParams.extend({ alias: z.string() }), response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await registry.deleteAlias(request.params.name, request.params.alias, actor(request));
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/models/:name/license',
      {
        config: read,
        schema: {
          tags,
          summary: 'Check a version’s license against the configured usage policy',
          params: NameParams,
          querystring: z.object({ version: z.string().optional() }),
          response: {
            200: z.object({
              version: z.string(),
              license: z.string(),
              decision: z.enum(['allowed', 'warning', 'blocked']),
              reasons: z.array(z.string()),
              policy: z.record(z.string(), z.unknown()),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const policy = config.registry.licensePolicy;
        const decision = await registry.license(request.params.name, request.query.version, policy);
        return { version: decision.version, license: decision.license, decision: decision.decision, reasons: decision.reasons, policy };
      },
    );

    app.post(
      '/api/v1/models/:name/license/acknowledge',
      {
        config: write,
        schema: {
          tags,
          summary: 'Record that someone read and accepted a restricted license (audited)',
          params: NameParams,
          body: z.strictObject({ version: z.string().optional(), reason: z.string().min(1).max(2000) }),
          response: { 201: z.object({ acknowledged: z.literal(true), version: z.string(), license: z.string() }), ...errors },
        },
      },
      async (request, reply) => {
        const decision = await registry.license(request.params.name, request.body.version, config.registry.licensePolicy);
        await services.audit({
          actor: actor(request),
          action: 'license.acknowledge',
          target: `model:${request.params.name}@${decision.version}`,
          details: { license: decision.license, decision: decision.decision, reasons: decision.reasons, reason: request.body.reason },
        });
        return reply.code(201).send({ acknowledged: true as const, version: decision.version, license: decision.license });
      },
    );
  };
}
