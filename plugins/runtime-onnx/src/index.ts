import { mkdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  definePlugin,
  inspectOnnx,
  type ModelInstance,
  type PluginLogger,
  readAll,
  type RuntimeLoadRequest,
  type RuntimePlugin,
  UnservableModel,
} from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';
import { assertSafeFilePath, resolveExternalData } from './external-data.ts';
import { OnnxInstance, signatureOf } from './instance.ts';
import { OnnxOptions, resolveOptions } from './options.ts';
import { type CreatedSession, createSession, type ModelSource } from './sessions.ts';

export { assertSafeFilePath, resolveExternalData, UnsafeExternalData } from './external-data.ts';
export { OnnxInstance, signatureOf } from './instance.ts';
export { OnnxOptions, resolveOptions } from './options.ts';
export { cudaUnavailableReason } from './sessions.ts';

function pickModelFile(request: RuntimeLoadRequest, modelFile: string | undefined): string {
  const label = `${request.model}@${request.version}`;
  if (modelFile !== undefined) {
    if (!request.files.some((f) => f.path === modelFile)) throw new UnservableModel(`${label} has no file "${modelFile}" (option modelFile)`);
    return modelFile;
  }
  const candidates = request.files.filter((f) => f.path.toLowerCase().endsWith('.onnx'));
  if (candidates.length === 1) return candidates[0]!.path;
  throw new UnservableModel(
    candidates.length === 0
      ? `${label} has no .onnx file`
      : `${label} has ${candidates.length} .onnx files (${candidates.map((f) => f.path).join(', ')}); set the modelFile option to pick one`,
  );
}

/**
 * Loads the version's model: the .onnx file is read and its external-data references checked before onnxruntime sees
 * it. Without external data the session is built from memory; with it, the model and only the files it references are
 * written to a private temporary folder (onnxruntime resolves external data next to the model file), which is removed
 * once the sessions hold their weights.
 */
async function loadModel(request: RuntimeLoadRequest, defaults: Partial<OnnxOptions>, logger: PluginLogger, warned: Set<string>): Promise<ModelInstance> {
  const options = resolveOptions(defaults, request.options);
  const modelPath = pickModelFile(request, options.modelFile);
  const modelBytes = await readAll(request.openFile(modelPath), request.signal);
  let locations: string[];
  try {
    locations = inspectOnnx(modelBytes).externalData;
  } catch (error) {
    throw new UnservableModel(`${modelPath} is not a readable ONNX model: ${(error as Error).message}`, { cause: error });
  }
  const externalFiles = resolveExternalData(modelPath, locations, new Set(request.files.map((f) => f.path)));

  let folder: string | undefined;
  const sessions: CreatedSession[] = [];
  try {
    let source: ModelSource = modelBytes;
    if (externalFiles.length > 0) {
      folder = await mkdtemp(join(tmpdir(), 'modelplane-onnx-'));
      for (const path of [modelPath, ...externalFiles]) {
        assertSafeFilePath(path);
        const target = join(folder, ...path.split('/'));
        mkdirSync(dirname(target), { recursive: true });
        const bytes = path === modelPath ? modelBytes : await readAll(request.openFile(path), request.signal);
        await writeFile(target, bytes, { flag: 'wx', mode: 0o600 });
      }
      source = join(folder, ...modelPath.split('/'));
    }
    for (let i = 0; i < options.instances; i++) {
      request.signal?.throwIfAborted();
      try {
        sessions.push(await createSession(source, options, logger, warned));
      } catch (error) {
        throw new UnservableModel(`onnxruntime could not load ${modelPath}: ${(error as Error).message}`, { cause: error });
      }
    }
    const signature = signatureOf(sessions[0]!.session, modelPath);
    return new OnnxInstance(
      sessions.map((s) => s.session),
      signature,
      options.maxBatchSize,
      {
        runtime: 'onnxruntime-node',
        onnxruntimeVersion: ort.env.versions.common,
        executionProviders: sessions[0]!.providers,
        modelFile: modelPath,
        externalData: externalFiles,
        graphOptimizationLevel: options.graphOptimizationLevel,
        executionMode: options.executionMode,
        ...(options.intraOpThreads === undefined ? {} : { intraOpThreads: options.intraOpThreads }),
        ...(options.interOpThreads === undefined ? {} : { interOpThreads: options.interOpThreads }),
      },
    );
  } catch (error) {
    await Promise.all(sessions.map((s) => s.session.release().catch(() => undefined)));
    throw error;
  } finally {
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}

/** The `onnx` runtime, with `defaults` (the plugin's options) under each load's own options. */
export function onnxRuntime(defaults: Partial<OnnxOptions>, logger: PluginLogger): RuntimePlugin {
  const warned = new Set<string>();
  return {
    id: 'onnx',
    frameworks: ['onnx'],
    devices: ['cpu', 'cuda'],
    load: (request) => loadModel(request, defaults, logger, warned),
  };
}

export default definePlugin({
  name: '@modelplane/runtime-onnx',
  version: '0.1.0',
  apiVersion: '^1',
  description: 'ONNX models on onnxruntime-node (CPU; CUDA where its libraries and a GPU are present)',
  optionsSchema: OnnxOptions,
  setup(ctx) {
    ctx.register.runtime(onnxRuntime(ctx.options, ctx.logger));
  },
});
