import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { mkdirSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { defineError, definePlugin, externalDataLocations, type PluginLogger, type RuntimeLoadRequest, type RuntimePlugin, z } from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';
import { OnnxInstance } from './instance.ts';

export { OnnxInstance } from './instance.ts';

export const UnsafeExternalData = defineError('MP_ERR_UNSAFE_EXTERNAL_DATA', 422);
export const NoModelFile = defineError('MP_ERR_NO_MODEL_FILE', 422);

export const OnnxOptions = z.object({
  /** In order of preference; `cuda` is used only when this build of onnxruntime has it and a GPU is present. */
  executionProviders: z.array(z.enum(['cuda', 'cpu'])).default(['cpu']),
  intraOpThreads: z.int().min(0).optional(),
  interOpThreads: z.int().min(0).optional(),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /** Sessions per loaded model, used round-robin. */
  instances: z.int().min(1).max(64).default(1),
  /** For models with a dynamic batch dimension. */
  maxBatchSize: z.int().min(1).default(64),
  /** Which file of the version is the model, when it has several .onnx files. */
  modelFile: z.string().optional(),
});
export type OnnxOptions = z.infer<typeof OnnxOptions>;

/**
 * Checks every external-data location against the version's own files: relative, inside the model's folder, and
 * one of the files the version declares (so a link or a host path can never be read).
 */
export function checkExternalData(modelPath: string, locations: readonly string[], files: ReadonlySet<string>): void {
  const base = posix.dirname(modelPath);
  for (const location of locations) {
    const resolved = posix.normalize(posix.join(base, location.replaceAll('\\', '/')));
    if (isAbsolute(location) || /^[A-Za-z]:/.test(location) || resolved.startsWith('..') || location.split(/[\\/]/).includes('..')) {
      throw new UnsafeExternalData(`${modelPath}: external data location "${location}" leaves the model's folder; refusing to load`);
    }
    if (!files.has(resolved)) {
      throw new UnsafeExternalData(`${modelPath}: external data "${location}" is not one of this version's files`);
    }
  }
}

/**
 * Creates a session with the wanted providers; when CUDA cannot start (no GPU, or its libraries were not installed —
 * this repo skips onnxruntime's CUDA download), falls back to CPU and says why, once per reason.
 */
async function createSession(
  modelFile: string,
  options: ort.InferenceSession.SessionOptions,
  wanted: readonly string[],
  logger: PluginLogger,
  warned: Set<string>,
): Promise<{ session: ort.InferenceSession; providers: string[] }> {
  const builtWith = new Set(ort.listSupportedBackends().map((b) => b.name));
  const usable = wanted.filter((p) => p === 'cpu' || builtWith.has(p));
  if (usable.includes('cuda')) {
    try {
      return { session: await ort.InferenceSession.create(modelFile, { ...options, executionProviders: usable }), providers: usable };
    } catch (error) {
      const reason = (error as Error).message;
      if (!warned.has(reason)) {
        warned.add(reason);
        logger.warn({ reason }, 'CUDA execution provider could not start; using CPU');
      }
    }
  } else if (wanted.includes('cuda') && !warned.has('not-built')) {
    warned.add('not-built');
    logger.warn('this onnxruntime build has no CUDA execution provider; using CPU');
  }
  return { session: await ort.InferenceSession.create(modelFile, { ...options, executionProviders: ['cpu'] }), providers: ['cpu'] };
}

export function onnxRuntime(defaults: OnnxOptions, logger: PluginLogger): RuntimePlugin {
  const warned = new Set<string>();
  return {
    id: 'onnx',
    frameworks: ['onnx'],
    devices: ['cpu', 'cuda'],
    async load(request: RuntimeLoadRequest) {
      const options = OnnxOptions.parse({ ...defaults, ...request.options });
      const onnxFiles = request.files.filter((f) => f.path.endsWith('.onnx'));
      const modelPath = options.modelFile ?? (onnxFiles.length === 1 ? onnxFiles[0]!.path : undefined);
      if (!modelPath || !request.files.some((f) => f.path === modelPath)) {
        throw new NoModelFile(
          `${request.model}@${request.version}: ${onnxFiles.length === 0 ? 'has no .onnx file' : `has ${onnxFiles.length} .onnx files; set the modelFile option`}`,
        );
      }
      // onnxruntime resolves external data relative to the model file, so the version's files go to a private folder.
      const dir = await mkdtemp(join(tmpdir(), 'modelplane-onnx-'));
      try {
        for (const file of request.files) {
          const target = join(dir, ...file.path.split('/'));
          mkdirSync(dirname(target), { recursive: true });
          await pipeline(request.openFile(file.path), createWriteStream(target), request.signal ? { signal: request.signal } : {});
        }
        const modelBytes = await readFile(join(dir, modelPath));
        checkExternalData(modelPath, externalDataLocations(modelBytes), new Set(request.files.map((f) => f.path)));
        const sessionOptions: ort.InferenceSession.SessionOptions = {
          graphOptimizationLevel: options.graphOptimizationLevel,
          ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
          ...(options.interOpThreads === undefined ? {} : { interOpNumThreads: options.interOpThreads }),
        };
        const sessions = [];
        let providers: string[] = ['cpu'];
        for (let i = 0; i < options.instances; i++) {
          const created = await createSession(join(dir, modelPath), sessionOptions, options.executionProviders, logger, warned);
          sessions.push(created.session);
          providers = created.providers;
        }
        return new OnnxInstance(sessions, options.maxBatchSize, { runtime: 'onnxruntime-node', version: ort.env.versions.common, executionProviders: providers, modelFile: modelPath });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export default definePlugin({
  name: '@modelplane/runtime-onnx',
  version: '0.1.0',
  apiVersion: '^1',
  description: 'ONNX models on onnxruntime-node (CPU; CUDA where the build and a GPU allow)',
  optionsSchema: OnnxOptions,
  setup(ctx) {
    ctx.register.runtime(onnxRuntime(ctx.options, ctx.logger));
  },
});
