import {
  concatBatch,
  type InferRequest,
  type InferResponse,
  isMpError,
  type ModelInstance,
  type RuntimePlugin,
  splitBatch,
  type Tensor,
  type VersionRecord,
} from '@modelplane/plugin-sdk';
import type { Logger } from 'pino';
import type { Contributions } from '../kernel/contributions.ts';
import { Errors } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import type { Scanning } from '../registry/scanning.ts';
import { Batcher, type BatcherOptions } from './batcher.ts';
import type { Metrics } from './metrics.ts';

export interface BatchingOptions {
  maxBatchSize?: number;
  eager?: boolean;
  maxQueueDelayMs: number;
  preferredBatchSizes?: number[];
  maxQueueSize: number;
  timeoutMs: number;
}

export interface LoadOptions {
  /** The name clients use (V2 model name); defaults to the registry model name. */
  name?: string;
  /** Runtime id; defaults to the version's `metadata.runtime`, else the runtime that handles its framework. */
  runtime?: string;
  /** Passed to the runtime's load. */
  options?: Record<string, unknown>;
  batching?: Partial<BatchingOptions>;
  /** Serve a version whose scan FAILED anyway; recorded in the audit log with the actor and reason. */
  overrideScan?: { actor: string; reason: string };
}

export type ModelState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface LoadedModel {
  name: string;
  version: VersionRecord;
  runtime: string;
  instance: ModelInstance;
  batcher: Batcher<InferRequest, InferResponse>;
  batching: BatchingOptions & { maxBatchSize: number };
  loadedAt: string;
  /** Set once the instance is disposed; a batch reaching it after that is a bug, and fails loudly. */
  disposed: boolean;
}

export interface InferOutcome {
  response: InferResponse;
  model: LoadedModel;
  queueMs: number;
  computeMs: number;
  batchRows: number;
}

interface ModelManagerDeps {
  registry: Registry;
  scanning: Scanning;
  audit(entry: { actor: string; action: string; target: string; details?: unknown }): Promise<void>;
  contributions: Contributions;
  metrics: Metrics;
  logger: Logger;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxQueueDelayMs: 2, maxQueueSize: 1024, timeoutMs: 30_000 };

/**
 * Loaded models by client-facing name: each holds a runtime instance behind its own dynamic batcher. A load
 * completes (warm-up included) before the name points at it; an unload drains the batcher before disposing.
 */
export class ModelManager {
  readonly #models = new Map<string, LoadedModel>();
  readonly #states = new Map<string, { state: ModelState; reason?: string }>();
  readonly #deps: ModelManagerDeps;

  constructor(deps: ModelManagerDeps) {
    this.#deps = deps;
  }

  get(name: string): LoadedModel | undefined {
    return this.#models.get(name);
  }

  list(): LoadedModel[] {
    return [...this.#models.values()];
  }

  states(): Array<{ name: string; state: ModelState; reason?: string; version?: string }> {
    return [...this.#states.entries()].map(([name, s]) => ({ name, ...s, ...(this.#models.get(name) ? { version: this.#models.get(name)!.version.version } : {}) }));
  }

  #pickRuntime(version: VersionRecord, requested?: string): RuntimePlugin {
    const runtimes = this.#deps.contributions.runtime;
    const id = requested ?? (typeof version.metadata.runtime === 'string' ? version.metadata.runtime : undefined);
    if (id) {
      const runtime = runtimes.get(id);
      if (!runtime) throw new Errors.NoRuntime(`no runtime "${id}" is installed (loaded runtimes: ${runtimes.list().map((r) => r.contribution.id).join(', ') || 'none'}); add its plugin to the config`);
      return runtime;
    }
    const framework = String(version.metadata.framework);
    const match = runtimes.list().find((r) => r.contribution.frameworks.includes(framework));
    if (!match) throw new Errors.NoRuntime(`no installed runtime serves framework "${framework}" (${version.model}@${version.version}); add a runtime plugin for it`);
    return match.contribution;
  }

  /** Loads `reference` (`name`, `name@alias`, `name@1.2.3`) and serves it under `options.name`; replaces what was there. */
  async load(reference: string, options: LoadOptions = {}): Promise<LoadedModel> {
    const version = await this.#deps.registry.resolve(reference);
    const name = options.name ?? version.model;
    const previousState = this.#states.get(name);
    this.#states.set(name, { state: 'LOADING' });
    let loaded: LoadedModel;
    try {
      loaded = await this.open(version, { ...options, name });
    } catch (error) {
      this.#states.set(name, this.#models.has(name) ? (previousState ?? { state: 'READY' }) : { state: 'UNAVAILABLE', reason: (error as Error).message });
      throw error;
    }
    const previous = this.#models.get(name);
    this.#models.set(name, loaded);
    this.#states.set(name, { state: 'READY' });
    if (previous) await this.retire(previous);
    return loaded;
  }

  /**
   * Loads and warms up a version behind its own batcher without publishing it under any name: deployments keep
   * several versions of one name (stable, canary, shadow) and route between them themselves.
   */
  async open(version: VersionRecord, options: LoadOptions & { name: string }): Promise<LoadedModel> {
    const name = options.name;
    if (version.status === 'retired') throw new Errors.NotServable(`${version.model}@${version.version} is retired and cannot be served`);
    await this.#assertScanAllows(version, options.overrideScan);
    const runtime = this.#pickRuntime(version, options.runtime);
    let instance: ModelInstance;
    try {
      instance = await runtime.load({
        model: version.model,
        version: version.version,
        framework: String(version.metadata.framework),
        metadata: version.metadata,
        files: version.files,
        openFile: (path) => {
          const file = version.files.find((f) => f.path === path);
          if (!file) throw new Errors.FileNotFound(`${version.model}@${version.version} has no file "${path}"`);
          return this.#deps.registry.artifacts.open(file.digest);
        },
        options: options.options ?? {},
      });
      await instance.warmup?.();
    } catch (error) {
      if (isMpError(error)) throw error;
      throw new Errors.LoadFailed(`loading ${version.model}@${version.version} with runtime ${runtime.id} failed: ${(error as Error).message}`, { cause: error });
    }
    const batching = {
      ...DEFAULT_BATCHING,
      ...options.batching,
      maxBatchSize: Math.min(options.batching?.maxBatchSize ?? instance.maxBatchSize, instance.maxBatchSize),
    };
    const series = this.#deps.metrics.forModel(name, version.version);
    const batcherOptions: BatcherOptions = { ...batching, concurrency: 1 };
    const loaded: LoadedModel = {
      name,
      version,
      runtime: runtime.id,
      instance,
      batcher: undefined as unknown as LoadedModel['batcher'],
      batching,
      loadedAt: new Date().toISOString(),
      disposed: false,
    };
    loaded.batcher = new Batcher<InferRequest, InferResponse>(
      batcherOptions,
      async (requests) => {
        if (loaded.disposed) throw new Errors.Internal(`${name}@${version.version}: a batch reached a disposed instance`);
        const { inputs, rows } = concatBatch(requests.map((r) => r.inputs));
        series.batchSize.observe(rows.reduce((a, b) => a + b, 0));
        const { outputs } = await instance.infer({ inputs });
        return splitBatch(outputs, rows).map((parts, i) => ({ outputs: selectOutputs(parts, requests[i]!.outputs) }));
      },
      (request) => request.inputs[0]?.shape[0] ?? 1,
    );
    this.#deps.logger.info({ model: name, version: version.version, runtime: runtime.id, maxBatchSize: batching.maxBatchSize }, 'model loaded');
    return loaded;
  }

  /** Nothing unscanned is served: a version not yet scanned is scanned now; a FAILED one needs an audited override. */
  async #assertScanAllows(version: VersionRecord, override: LoadOptions['overrideScan']): Promise<void> {
    let status = version.scanStatus;
    if (status === null || status === 'SCANNING') status = (await this.#deps.scanning.scan(version, 'system')).status;
    if (status !== 'FAILED') return;
    const target = `model:${version.model}@${version.version}`;
    if (override) {
      await this.#deps.audit({ actor: override.actor, action: 'scan.override', target, details: { reason: override.reason } });
      this.#deps.logger.warn({ model: version.model, version: version.version, actor: override.actor }, 'serving a version whose scan FAILED (override)');
      return;
    }
    const findings = await this.#deps.registry.metadata.listFindings(version.model, version.version);
    throw new Errors.NotServable(
      `${version.model}@${version.version} failed its security scan (${findings.map((f) => `${f.severity} ${f.rule} in ${f.file}`).join('; ')}); ` +
        'it cannot be loaded without an explicit, audited override',
      { details: { findings } },
    );
  }

  async unload(name: string): Promise<void> {
    const loaded = this.#models.get(name);
    if (!loaded) throw new Errors.ModelNotLoaded(`model "${name}" is not loaded`);
    this.#models.delete(name);
    this.#states.set(name, { state: 'UNAVAILABLE', reason: 'unloaded' });
    await this.retire(loaded);
  }

  /** In-flight and queued requests finish on the old instance, then it is freed. */
  async retire(loaded: LoadedModel): Promise<void> {
    await loaded.batcher.drain();
    loaded.disposed = true;
    await loaded.instance.dispose();
    this.#deps.metrics.forgetModel(loaded.name, loaded.version.version);
  }

  /** The model served as `name` (at `version`, when given); 503 with Retry-After while its first load runs, else 404. */
  serving(name: string, version?: string): LoadedModel {
    const model = this.#models.get(name);
    if (!model) {
      const state = this.#states.get(name);
      if (state?.state === 'LOADING') throw new Errors.ModelNotReady(`model "${name}" is still loading`, { details: { retryAfterSeconds: 1 } });
      throw new Errors.ModelNotLoaded(`model "${name}" is not loaded${state?.reason ? ` (${state.reason})` : ''}`);
    }
    if (version !== undefined && version !== model.version.version) {
      throw new Errors.ModelNotLoaded(`model "${name}" has no loaded version ${version} (serving ${model.version.version})`);
    }
    return model;
  }

  async infer(name: string, version: string | undefined, request: InferRequest, signal?: AbortSignal): Promise<InferOutcome> {
    return this.inferOn(this.serving(name, version), request, signal);
  }

  /** Runs a request on one loaded model (a deployment picked it). Submitting is synchronous, so a swap that retires
   * `model` right after still drains this request before disposing. */
  async inferOn(model: LoadedModel, request: InferRequest, signal?: AbortSignal): Promise<InferOutcome> {
    // The depth is read once this request is queued and again once it has left the queue, so the gauge follows the
    // queue down as well as up.
    const { queueDepth } = this.#deps.metrics.forModel(model.name, model.version.version);
    const pending = model.batcher.submit(request, { ...(signal ? { signal } : {}), timeoutMs: model.batching.timeoutMs });
    queueDepth.set(model.batcher.depth);
    try {
      const submitted = await pending;
      return { response: submitted.result, model, queueMs: submitted.queueMs, computeMs: submitted.computeMs, batchRows: submitted.batchRows };
    } finally {
      queueDepth.set(model.batcher.depth);
    }
  }

  async close(): Promise<void> {
    for (const name of [...this.#models.keys()]) await this.unload(name);
  }
}

function selectOutputs(outputs: Tensor[], wanted: string[] | undefined): Tensor[] {
  return wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs;
}
