import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { definePlugin, type ModelInstance, type PluginLogger, readAll, type RuntimeLoadRequest, type RuntimePlugin, UnservableModel } from '@modelplane/plugin-sdk';
import { conversionHint, pickModelFile, readTfjsModel, savedModelDir } from './artifacts.ts';
import { type Backend, chooseBackend, describeBackend } from './backends.ts';
import { TfjsInstance } from './instance.ts';
import { type Executable, graphExecutable, layersExecutable, savedModelExecutable } from './models.ts';
import { resolveLoadOptions, TfjsOptions } from './options.ts';

export { readTfjsModel } from './artifacts.ts';
export { type Backend, chooseBackend, describeBackend, type Importer } from './backends.ts';
export { TfjsInstance } from './instance.ts';
export { BACKENDS, type BackendChoice, resolveLoadOptions, TfjsLoadOptions, TfjsOptions } from './options.ts';

/**
 * A SavedModel through the TensorFlow C library: its folder (saved_model.pb, variables/) is written to a private
 * temporary folder, which is removed once the session has restored the variables.
 */
async function loadSavedModel(backend: Backend, request: RuntimeLoadRequest, dir: string, tags: string[], signature: string): Promise<Executable> {
  const folder = await mkdtemp(join(tmpdir(), 'modelplane-tfjs-'));
  try {
    const prefix = dir === '.' ? '' : `${dir}/`;
    for (const file of request.files.filter((f) => f.path.startsWith(prefix))) {
      const relative = posix.normalize(file.path.slice(prefix.length));
      if (relative.startsWith('../') || relative.startsWith('/')) continue; // the registry never stores such paths
      const target = join(folder, ...relative.split('/'));
      mkdirSync(dirname(target), { recursive: true });
      await writeFile(target, await readAll(request.openFile(file.path), request.signal), { flag: 'wx', mode: 0o600 });
    }
    const node = backend.node!;
    const metaGraph = (await node.getMetaGraphsFromSavedModel(folder)).find((m) => tags.every((tag) => m.tags.includes(tag)));
    const signatureDef = metaGraph?.signatureDefs[signature];
    if (!signatureDef) {
      throw new UnservableModel(`${prefix}saved_model.pb has no signature "${signature}" under tags ${JSON.stringify(tags)} (options savedModelTags, signatureKey)`);
    }
    return savedModelExecutable(await node.loadSavedModel(folder, tags, signature), signatureDef, `${prefix}saved_model.pb`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function loadModel(backend: Backend, defaults: Partial<TfjsOptions>, request: RuntimeLoadRequest): Promise<ModelInstance> {
  const { backend: _, ...loadDefaults } = defaults;
  const options = resolveLoadOptions(loadDefaults, request.options);
  const { tf } = backend;
  const modelFile = pickModelFile(request, options.modelFile);
  const savedDir = savedModelDir(request);
  let model: Executable;
  let details: Record<string, unknown>;
  if (modelFile !== undefined) {
    const read = await readTfjsModel(request, modelFile);
    try {
      const io = tf.io.fromMemory(read.artifacts as never);
      model = read.format === 'layers-model' ? layersExecutable(await tf.loadLayersModel(io), modelFile) : await graphExecutable(tf, await tf.loadGraphModel(io), modelFile);
    } catch (error) {
      if (error instanceof UnservableModel) throw error;
      throw new UnservableModel(`TF.js could not load ${modelFile} as a ${read.format}: ${(error as Error).message}`, { cause: error });
    }
    details = { format: read.format, modelFile, weightFiles: read.weightFiles };
  } else if (savedDir !== undefined && backend.node) {
    try {
      model = await loadSavedModel(backend, request, savedDir, options.savedModelTags, options.signatureKey);
    } catch (error) {
      if (error instanceof UnservableModel) throw error;
      throw new UnservableModel(`TensorFlow could not load the SavedModel in ${savedDir}: ${(error as Error).message}`, { cause: error });
    }
    details = { format: 'saved-model', savedModelDir: savedDir, tags: options.savedModelTags, signatureKey: options.signatureKey };
  } else {
    throw conversionHint(request, backend.choice);
  }
  const { skipped: __, ...reported } = describeBackend(backend);
  return new TfjsInstance(tf, model, options.maxBatchSize, { runtime: 'tfjs', ...reported, ...details });
}

/** The `tfjs` runtime on an already chosen backend, with `defaults` (the plugin's options) under each load's own. */
export function tfjsRuntime(backend: Backend, defaults: Partial<TfjsOptions> = {}): RuntimePlugin & { backend: Backend; describe(): Record<string, unknown> } {
  return {
    id: 'tfjs',
    // `tensorflow` and `keras` versions are served once converted (or as a SavedModel on a native backend); otherwise
    // the load answers how to convert them.
    frameworks: ['tfjs', 'tensorflow', 'keras'],
    devices: [backend.device],
    load: (request) => loadModel(backend, defaults, request),
    backend,
    describe: () => describeBackend(backend),
  };
}

/** Chooses the backend (logging each one it skips, once) and registers the runtime on it. */
export async function createTfjsRuntime(options: Partial<TfjsOptions>, logger: PluginLogger): Promise<ReturnType<typeof tfjsRuntime>> {
  return tfjsRuntime(await chooseBackend(options.backend ?? 'auto', logger), options);
}

export default definePlugin({
  name: '@modelplane/runtime-tfjs',
  version: '0.1.0',
  apiVersion: '^1',
  description: 'TensorFlow.js LayersModel and GraphModel (SavedModel on a native backend) on tfjs-node-gpu, tfjs-node, WASM or CPU, whichever loads',
  optionsSchema: TfjsOptions,
  async setup(ctx) {
    ctx.register.runtime(await createTfjsRuntime(ctx.options, ctx.logger));
  },
});
