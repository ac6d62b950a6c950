import { BadRuntimeOptions, parseRuntimeOptions, z } from '@modelplane/plugin-sdk';

export const OnnxOptions = z.strictObject({
  /**
   * In order of preference. `cuda` is used only when this onnxruntime-node install has its CUDA libraries and the
   * machine has an NVIDIA driver; otherwise the model runs on `cpu` and one log line says why.
   */
  executionProviders: z.array(z.enum(['cuda', 'cpu'])).min(1).default(['cpu']),
  /** The GPU a CUDA session runs on. */
  cudaDeviceId: z.int().min(0).default(0),
  /** Threads inside one operator; onnxruntime's default (one per core) when omitted. */
  intraOpThreads: z.int().min(0).optional(),
  /** Threads across independent operators; only used with executionMode `parallel`. */
  interOpThreads: z.int().min(0).optional(),
  executionMode: z.enum(['sequential', 'parallel']).default('sequential'),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all'),
  /**
   * Sessions per loaded model, used round-robin. onnxruntime-node runs a session on the calling (main) thread, so
   * sessions do not compute in parallel; parallelism comes from `intraOpThreads` and from batching.
   */
  instances: z.int().min(1).max(64).default(1),
  /** Most rows per batch, for models whose inputs and outputs all have a dynamic first dimension. */
  maxBatchSize: z.int().min(1).max(65536).default(64),
  /** Which file of the version is the model, when it holds several `.onnx` files. */
  modelFile: z.string().min(1).optional(),
});
export type OnnxOptions = z.infer<typeof OnnxOptions>;

/** Per-load options over the plugin's defaults; a bad value is a coded 400 naming the option. */
export function resolveOptions(defaults: Partial<OnnxOptions>, overrides: Record<string, unknown>): OnnxOptions {
  // A deployment's `device` (cpu | cuda) picks the execution providers unless they are given explicitly.
  const { device, ...rest } = overrides;
  if (device !== undefined && device !== 'cpu' && device !== 'cuda') {
    throw new BadRuntimeOptions(`invalid onnx runtime options: options.device: expected "cpu" or "cuda", got ${JSON.stringify(device)}`);
  }
  const providers = device === undefined || rest.executionProviders !== undefined ? {} : { executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'] };
  return parseRuntimeOptions(OnnxOptions, 'onnx', { ...defaults, ...rest, ...providers });
}
