import { BadTensor, type Datatype } from '@modelplane/plugin-sdk';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelAllowed } from '../../auth/scopes.ts';
import { assertModelAllowed } from '../access-control.ts';
import { QueueFull } from '../../serving/batcher.ts';
import type { Metrics } from '../../serving/metrics.ts';
import { type DeploymentManager, stableOf } from '../../serving/deployments/manager.ts';
import type { LoadedModel, ModelManager } from '../../serving/model-manager.ts';
import { checkAgainstSignature, decodeInferRequest, encodeInferResponse } from '../../serving/v2-codec.ts';
import { CORE_VERSION } from '../../version.ts';

const TRITON_TYPE: Record<Datatype, string> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
};

const ModelParams = z.object({ model: z.string() });
const VersionParams = z.object({ model: z.string(), version: z.string() });

export interface V2Deps {
  models: ModelManager;
  /** Names that are deployments route through their traffic split; other names are plain loaded models. */
  deployments: DeploymentManager;
  metrics: Metrics;
  inferBodyLimit: number;
  /** Names declared in the config; the server is ready when all of them are. */
  declared: () => readonly string[];
}

/** The Open Inference Protocol (KServe V2) REST API, with Triton's binary tensor and model repository extensions. */
export function v2Routes(deps: V2Deps): FastifyPluginAsync {
  const { models, metrics, deployments } = deps;
  return async (base) => {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const tags = ['inference (V2)'];
    // Binary requests: a JSON header of Inference-Header-Content-Length bytes, then raw tensor bytes.
    app.addContentTypeParser(['application/octet-stream', '*'], { parseAs: 'buffer', bodyLimit: deps.inferBodyLimit }, (_req, body, done) => done(null, body));

    app.get('/v2', { config: { scope: 'public' }, schema: { tags, summary: 'Server metadata' } }, async () => ({
      name: 'modelplane',
      version: CORE_VERSION,
      extensions: ['binary_tensor_data', 'model_repository', 'model_configuration'],
    }));
    app.get('/v2/health/live', { config: { scope: 'public' }, schema: { tags, summary: 'The server is alive' } }, async () => ({ live: true }));
    app.get('/v2/health/ready', { config: { scope: 'public' }, schema: { tags, summary: 'Every declared model is loaded' } }, async (_request, reply) => {
      const missing = deps.declared().filter((name) => !models.get(name) && !deployments.primary(name));
      if (missing.length > 0) return reply.code(503).send({ ready: false, error: `not loaded yet: ${missing.join(', ')}` });
      return { ready: true };
    });

    /** For a deployment, the instance its split picks (or the named version); `header` makes A/B sticky. */
    const loaded = (name: string, version?: string, header: (h: string) => string | undefined = () => undefined): LoadedModel => {
      const picked = deployments.pick(name, version, header);
      return picked ?? models.serving(name, version);
    };

    const described = (name: string, version?: string) => (version === undefined ? (deployments.primary(name) ?? loaded(name)) : loaded(name, version));
    const metadata = (name: string, version?: string) => {
      const model = described(name, version);
      return {
        name: model.name,
        versions: deployments.has(name) ? deployments.servedVersions(name) : [model.version.version],
        platform: model.runtime,
        inputs: model.instance.signature.inputs,
        outputs: model.instance.signature.outputs,
        parameters: { registry_model: model.version.model, runtime: model.instance.describe?.() ?? {} },
      };
    };
    const metadataConfig = { scope: 'infer' as const, modelParam: 'model' };
    app.get('/v2/models/:model', { config: metadataConfig, schema: { tags, summary: 'Model metadata', params: ModelParams } }, async (r) => metadata(r.params.model));
    app.get('/v2/models/:model/versions/:version', { config: metadataConfig, schema: { tags, summary: 'Model version metadata', params: VersionParams } }, async (r) =>
      metadata(r.params.model, r.params.version),
    );

    // Loaded is not enough: the instance says whether it can answer now (a sidecar runtime is not while its process
    // is down or being restarted), so readiness never reports a dead backend as ready. A deployment is ready when the
    // version it serves is.
    const ready = async (name: string, version: string | undefined, reply: FastifyReply) => {
      let model: LoadedModel | undefined;
      try {
        // A deployment answers for the version asked for, else for its stable version.
        model = loaded(name, version ?? deployments.primary(name)?.version.version);
      } catch {
        model = undefined;
      }
      const health = model ? await model.instance.health() : undefined;
      if (health?.ready) return reply.send({ name, ready: true });
      const why = health?.detail ? `: ${health.detail}` : '';
      return reply.code(400).send({ error: `model "${name}"${version ? ` version ${version}` : ''} is not ready${why}` });
    };
    app.get('/v2/models/:model/ready', { config: metadataConfig, schema: { tags, summary: 'Is the model ready (200) or not (400)', params: ModelParams } }, async (r, reply) =>
      ready(r.params.model, undefined, reply),
    );
    app.get('/v2/models/:model/versions/:version/ready', { config: metadataConfig, schema: { tags, summary: 'Is this version ready', params: VersionParams } }, async (r, reply) =>
      ready(r.params.model, r.params.version, reply),
    );

    app.get('/v2/models/:model/config', { config: metadataConfig, schema: { tags, summary: 'Triton-style model configuration (batching, tensors)', params: ModelParams } }, async (r) => {
      const model = described(r.params.model);
      const batching = model.batching.maxBatchSize > 0;
      const dims = (shape: number[]) => (batching ? shape.slice(1) : shape);
      return {
        name: model.name,
        platform: model.runtime === 'onnx' ? 'onnxruntime_onnx' : model.runtime,
        backend: model.runtime,
        max_batch_size: model.batching.maxBatchSize,
        input: model.instance.signature.inputs.map((s) => ({ name: s.name, data_type: TRITON_TYPE[s.datatype], dims: dims(s.shape) })),
        output: model.instance.signature.outputs.map((s) => ({ name: s.name, data_type: TRITON_TYPE[s.datatype], dims: dims(s.shape) })),
        ...(batching
          ? {
              dynamic_batching: {
                preferred_batch_size: model.batching.preferredBatchSizes ?? [],
                max_queue_delay_microseconds: Math.round(model.batching.maxQueueDelayMs * 1000),
                default_queue_policy: { max_queue_size: model.batching.maxQueueSize, default_timeout_microseconds: model.batching.timeoutMs * 1000 },
              },
            }
          : {}),
        instance_group: [{ count: 1, kind: 'KIND_CPU' }],
        version_policy: { specific: { versions: deployments.has(model.name) ? deployments.servedVersions(model.name) : [model.version.version] } },
      };
    });

    const infer = async (request: FastifyRequest, reply: FastifyReply, name: string, version: string | undefined) => {
      const model = loaded(name, version, (h) => {
        const value = request.headers[h.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      });
      const series = metrics.forModel(name, model.version.version);
      try {
        const decoded = decodeBody(request);
        checkAgainstSignature(model.instance.signature, decoded, model.batching.maxBatchSize);
        // A client that goes away takes its queued work with it.
        const controller = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        // Submitted in the same tick as the pick above: a swap that follows drains this request before disposing.
        const inferRequest = { inputs: decoded.inputs, ...(decoded.outputs ? { outputs: decoded.outputs } : {}) };
        const outcome = await models.inferOn(model, inferRequest, controller.signal);
        const encoded = encodeInferResponse({ name, version: outcome.model.version.version }, decoded, outcome.response.outputs);
        const json = JSON.stringify(encoded.header);
        const totalMs = reply.elapsedTime;
        const overheadMs = Math.max(0, totalMs - outcome.queueMs - outcome.computeMs);
        reply.header(
          'server-timing',
          `queue;dur=${outcome.queueMs.toFixed(3)}, compute;dur=${outcome.computeMs.toFixed(3)}, overhead;dur=${overheadMs.toFixed(3)}, total;dur=${totalMs.toFixed(3)}`,
        );
        // The version that answered: a swap may have happened while the request waited.
        const served = outcome.model === model ? series : metrics.forModel(name, outcome.model.version.version);
        served.succeeded.inc();
        served.request.observe(totalMs / 1000);
        served.queue.observe(outcome.queueMs / 1000);
        served.compute.observe(outcome.computeMs / 1000);
        served.overhead.observe(overheadMs / 1000);
        deployments.observe(name, model, totalMs, true);
        deployments.mirror(name, inferRequest, outcome.response);
        if (encoded.binary.length === 0) return reply.type('application/json').send(json);
        const header = Buffer.from(json);
        return reply
          .type('application/octet-stream')
          .header('inference-header-content-length', header.length)
          .send(Buffer.concat([header, ...encoded.binary]));
      } catch (error) {
        series.failed.inc();
        // Only the server's failures count against a version; a malformed request is the caller's.
        const status = (error as { statusCode?: number }).statusCode ?? 500;
        if (status >= 500) deployments.observe(name, model, reply.elapsedTime, false);
        if (error instanceof Error && (error as { code?: string }).code === QueueFull.code) {
          reply.header('retry-after', (error as { details?: { retryAfterSeconds?: number } }).details?.retryAfterSeconds ?? 1);
        }
        throw error;
      }
    };

    const inferConfig = { scope: 'infer' as const, modelParam: 'model', inference: true };
    app.post('/v2/models/:model/infer', { config: inferConfig, bodyLimit: deps.inferBodyLimit, schema: { tags, summary: 'Run inference (JSON or binary tensors)', params: ModelParams } }, (r, reply) =>
      infer(r, reply, r.params.model, undefined),
    );
    app.post(
      '/v2/models/:model/versions/:version/infer',
      { config: inferConfig, bodyLimit: deps.inferBodyLimit, schema: { tags, summary: 'Run inference on a specific version', params: VersionParams } },
      (r, reply) => infer(r, reply, r.params.model, r.params.version),
    );

    // Triton's model repository extension.
    app.post(
      '/v2/repository/index',
      { config: { scope: 'read' }, schema: { tags, summary: 'Models known to the server and their state (deployments included)' } },
      async (request) => {
        const entries = [
          ...models.states().map((s) => ({ name: s.name, ...(s.version ? { version: s.version } : {}), state: s.state, reason: s.reason ?? '' })),
          // A deployment is a model clients call: listed with the version it mostly serves.
          ...deployments.list().map(({ spec, status }) => ({
            name: spec.name,
            version: stableOf(spec.traffic),
            state: status.ready ? 'READY' : 'UNAVAILABLE',
            reason: status.error ?? '',
          })),
        ];
        // A key limited to some models sees only those, as the routes that name a model allow only those.
        return entries.filter((entry) => modelAllowed(request.principal.models, entry.name));
      },
    );
    app.post(
      '/v2/repository/models/:model/load',
      {
        config: { scope: 'deploy', modelParam: 'model' },
        schema: {
          tags,
          summary: 'Load a model (optionally a registry reference such as ids-mlp@production) and serve it under this name',
          params: ModelParams,
          body: z
            .object({
              parameters: z
                .object({
                  reference: z.string().optional(),
                  runtime: z.string().optional(),
                  config: z.unknown().optional(),
                  override_scan: z.object({ reason: z.string().min(1) }).optional().describe('Load a version whose security scan FAILED; audited'),
                })
                .passthrough()
                .optional(),
            })
            // A POST without a body arrives as null.
            .nullish(),
        },
      },
      async (request) => {
        const parameters = request.body?.parameters ?? {};
        // The path names the served model; a reference may name another one, which the key must also be allowed.
        if (parameters.reference !== undefined) assertModelAllowed(request.principal, parameters.reference);
        await models.load(parameters.reference ?? request.params.model, {
          name: request.params.model,
          ...(parameters.runtime ? { runtime: parameters.runtime } : {}),
          ...(parameters.override_scan
            ? { overrideScan: { actor: request.principal.id, reason: parameters.override_scan.reason } }
            : {}),
        });
        return {};
      },
    );
    app.post(
      '/v2/repository/models/:model/unload',
      { config: { scope: 'deploy', modelParam: 'model' }, schema: { tags, summary: 'Unload a model after its in-flight requests finish', params: ModelParams } },
      async (request) => {
        await models.unload(request.params.model);
        return {};
      },
    );
  };
}

/** JSON, or Triton's binary extension: `Inference-Header-Content-Length` bytes of JSON, then tensor bytes. */
function decodeBody(request: FastifyRequest) {
  const body = request.body;
  const headerLength = request.headers['inference-header-content-length'];
  if (Buffer.isBuffer(body)) {
    const length = headerLength === undefined ? body.length : Number(headerLength);
    if (!Number.isInteger(length) || length < 0 || length > body.length) {
      throw new BadTensor(`Inference-Header-Content-Length ${String(headerLength)} is not within the ${body.length}-byte body`);
    }
    let header: unknown;
    try {
      header = JSON.parse(body.subarray(0, length).toString('utf8'));
    } catch (error) {
      throw new BadTensor(`the inference header is not valid JSON: ${(error as Error).message}`);
    }
    return decodeInferRequest(header, headerLength === undefined ? undefined : body.subarray(length));
  }
  if (body === undefined || body === null) throw new BadTensor('the request has no body; send an inference request');
  return decodeInferRequest(body);
}
