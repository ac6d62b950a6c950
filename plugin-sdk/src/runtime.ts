/**
 * Runtime extension point: load a registered version and run inference on it.
 *
 * The core owns HTTP, queueing and batching: its dynamic batcher concatenates queued requests along dim 0
 * (`concatBatch`), calls `infer` once with the batch, and splits the outputs back (`splitBatch`). A runtime therefore
 * sees one request at a time, of at most `maxBatchSize` rows; with `maxBatchSize: 0` it sees each client request
 * as sent. `runtimeConformance` (in the SDK's conformance kit) checks a runtime against this contract.
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Contribution } from './contribution.ts';
import { defineError } from './errors.ts';
import { formatPath } from './schema.ts';
import type { ManifestFile } from './stores.ts';
import { BadTensor, elementCount, type Tensor, type TensorSpec, zeroTensor } from './tensors.ts';

export interface Health {
  ready: boolean;
  detail?: string;
}

export interface InferRequest {
  inputs: Tensor[];
  /** Names of the outputs wanted; all when omitted. */
  outputs?: string[];
  /** V2 request parameters, passed through for runtimes that understand some. */
  parameters?: Record<string, unknown>;
}

export interface InferResponse {
  outputs: Tensor[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** `infer` on an instance that was disposed (or is being disposed): the caller should retry on another one. */
export const InstanceUnavailable = defineError('MP_ERR_INSTANCE_UNAVAILABLE', 503);
/** The version's files cannot be served by this runtime (no model file, unsupported types, unsafe references). */
export const UnservableModel = defineError('MP_ERR_UNSERVABLE_MODEL', 422);
/** Load options that the runtime's schema refuses; the message names the option. */
export const BadRuntimeOptions = defineError('MP_ERR_BAD_RUNTIME_OPTIONS', 400);

/** A loaded model. */
export interface ModelInstance {
  readonly signature: ModelSignature;
  /**
   * Most rows one `infer` call may carry, when every input and output has a dynamic dim 0 (the batch);
   * 0: the runtime cannot batch and gets requests one at a time, unchanged.
   */
  readonly maxBatchSize: number;
  /**
   * Runs one (possibly batched) request. Bad input (unknown or missing input, wrong datatype, shape or element
   * count, unknown output) rejects with a coded 4xx error naming the tensor (`checkInferRequest` does this); after
   * `dispose` it rejects with InstanceUnavailable. A request whose signal is aborted before it runs is not run.
   */
  infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse>;
  /** Runs a throw-away request so the first real one does not pay for lazy initialisation. */
  warmup?(): Promise<void>;
  health(): Promise<Health>;
  /** Frees the model after in-flight calls finish; idempotent. */
  dispose(): Promise<void>;
  /** Runtime details for the metadata endpoint (device, execution provider, threads …); JSON-serialisable. */
  describe?(): Record<string, unknown>;
}

export interface RuntimeLoadRequest {
  model: string;
  version: string;
  framework: string;
  metadata: Record<string, unknown>;
  /** The version's files (manifest paths, `/`-separated, relative to the version). */
  files: readonly ManifestFile[];
  /** Opens one of the version's files by its manifest path; the stream is digest-verified. */
  openFile(path: string): Readable;
  /** Options for this load, from the deployment or the config; the runtime validates them. */
  options: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface RuntimePlugin extends Contribution {
  readonly frameworks: readonly string[];
  readonly devices: readonly string[];
  load(request: RuntimeLoadRequest): Promise<ModelInstance>;
  /**
   * Runtime-wide details chosen at setup (backend, device, library version), shown with the plugin in
   * `GET /api/v1/plugins`; JSON-serialisable. Per-model details belong in `ModelInstance.describe`.
   */
  describe?(): Record<string, unknown>;
}

/**
 * Checks a request against a signature: every input known, present once, of the declared datatype and rank, fixed
 * dimensions matched, data length equal to the shape's element count, a batchable model's inputs agreeing on their
 * rows (dim 0), and every requested output known. Throws BadTensor (400) naming the tensor.
 */
export function checkInferRequest(signature: ModelSignature, request: InferRequest): void {
  const given = new Map<string, Tensor>();
  for (const tensor of request.inputs) {
    if (!signature.inputs.some((s) => s.name === tensor.name)) {
      throw new BadTensor(`unknown input "${tensor.name}"; the model takes: ${signature.inputs.map((s) => s.name).join(', ')}`);
    }
    if (given.has(tensor.name)) throw new BadTensor(`input "${tensor.name}" is given twice`);
    given.set(tensor.name, tensor);
  }
  // Only a batchable model's dynamic dim 0 is the batch; elsewhere dynamic dims are free to differ.
  const batched = canBatch(signature);
  let rows: { name: string; count: number } | undefined;
  for (const spec of signature.inputs) {
    const tensor = given.get(spec.name);
    if (!tensor) throw new BadTensor(`input "${spec.name}" is missing (${spec.datatype} ${JSON.stringify(spec.shape)})`);
    if (tensor.datatype !== spec.datatype) throw new BadTensor(`input "${spec.name}" must be ${spec.datatype}, got ${tensor.datatype}`);
    const fits = spec.shape.length === tensor.shape.length && spec.shape.every((d, i) => d === -1 || d === tensor.shape[i]);
    if (!fits) throw new BadTensor(`input "${spec.name}" must have shape ${JSON.stringify(spec.shape)} (-1: any), got ${JSON.stringify(tensor.shape)}`);
    const expected = elementCount(tensor.shape);
    if (tensor.data.length !== expected) {
      throw new BadTensor(`input "${spec.name}": shape ${JSON.stringify(tensor.shape)} needs ${expected} elements, but data has ${tensor.data.length}`);
    }
    if (batched) {
      const count = tensor.shape[0]!;
      // Models fail in their own words on an empty batch (TF.js: "Pass at least one tensor to concat"), as a 500.
      if (count === 0) throw new BadTensor(`input "${spec.name}" has no rows (shape ${JSON.stringify(tensor.shape)}); send at least one`);
      if (rows && rows.count !== count) throw new BadTensor(`input "${spec.name}" has ${count} rows, but "${rows.name}" has ${rows.count}`);
      rows ??= { name: spec.name, count };
    }
  }
  for (const name of request.outputs ?? []) {
    if (!signature.outputs.some((s) => s.name === name)) {
      throw new BadTensor(`unknown output "${name}"; the model produces: ${signature.outputs.map((s) => s.name).join(', ')}`);
    }
  }
}

/**
 * Whether a signature allows batching along dim 0: every input and output has a dynamic first dimension. Models
 * whose outputs reduce over the batch cannot be told apart from the signature alone; such a runtime should answer
 * `maxBatchSize: 0` on its own.
 */
export function canBatch(signature: ModelSignature): boolean {
  return [...signature.inputs, ...signature.outputs].every((spec) => spec.shape.length > 0 && spec.shape[0] === -1);
}

/** A version file read whole (model files are read by runtimes this way); stops early when the load is aborted. */
export async function readAll(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    if (signal?.aborted) {
      stream.destroy();
      signal.throwIfAborted();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Zero-filled inputs for a signature (dynamic dimensions as 1): what a runtime's `warmup` runs once. */
export function warmupInputs(signature: ModelSignature): Tensor[] {
  return signature.inputs.map((spec) =>
    zeroTensor(
      spec.name,
      spec.datatype,
      spec.shape.map((d) => (d === -1 ? 1 : d)),
    ),
  );
}

/**
 * A load's options — the plugin's defaults under the version's own — checked against the runtime's schema; a bad
 * value is a coded 400 (BadRuntimeOptions) naming each option that is wrong.
 */
export function parseRuntimeOptions<S extends z.ZodType>(schema: S, runtime: string, input: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath('options', issue.path)}: ${issue.message}`);
  throw new BadRuntimeOptions(`invalid ${runtime} runtime options: ${problems.join('; ')}`, { details: { issues: parsed.error.issues } });
}
