import { parseRuntimeOptions, z } from '@modelplane/plugin-sdk';

/** TF.js backends, fastest first: the TensorFlow C library with CUDA, the same on CPU, WebAssembly, plain JavaScript. */
export const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** Options each load may set (over the plugin's defaults). */
export const TfjsLoadOptions = z.strictObject({
  /** Most rows per batch, for models whose inputs and outputs all have a dynamic first dimension. */
  maxBatchSize: z.int().min(1).max(65536).default(64),
  /** Which file of the version is the TF.js `model.json`, when it holds several. */
  modelFile: z.string().min(1).optional(),
  /** SavedModel (native backends only): the MetaGraph tags and the signature to serve. */
  savedModelTags: z.array(z.string().min(1)).min(1).default(['serve']),
  signatureKey: z.string().min(1).default('serving_default'),
});
export type TfjsLoadOptions = z.infer<typeof TfjsLoadOptions>;

/** The plugin's options: the backend (chosen once per process, as TF.js has one active backend) and load defaults. */
export const TfjsOptions = TfjsLoadOptions.partial().extend({
  /** `auto` takes the first of node-gpu → node → wasm → cpu that loads here; a named one must load or setup fails. */
  backend: z.enum(['auto', ...BACKENDS]).default('auto'),
});
export type TfjsOptions = z.infer<typeof TfjsOptions>;

/** Per-load options over the plugin's defaults; a bad value is a coded 400 naming the option. */
export function resolveLoadOptions(defaults: Partial<TfjsLoadOptions>, overrides: Record<string, unknown>): TfjsLoadOptions {
  return parseRuntimeOptions(TfjsLoadOptions, 'tfjs', { ...defaults, ...overrides });
}
