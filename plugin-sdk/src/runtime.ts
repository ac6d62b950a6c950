/** Runtime extension point: load a registered version and run inference on it. */
import type { Readable } from 'node:stream';
import type { Contribution } from './contribution.ts';
import type { ManifestFile } from './stores.ts';
import type { Tensor, TensorSpec } from './tensors.ts';

export interface Health {
  ready: boolean;
  detail?: string;
}

export interface InferRequest {
  inputs: Tensor[];
  /** Names of the outputs wanted; all when omitted. */
  outputs?: string[];
  parameters?: Record<string, unknown>;
}

export interface InferResponse {
  outputs: Tensor[];
}

/** A loaded model. The core's batcher concatenates queued requests along dim 0 and splits the result back. */
export interface ModelInstance {
  readonly signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  /** Largest batch in rows; 0: the runtime cannot batch and gets requests one at a time. */
  readonly maxBatchSize: number;
  infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse>;
  warmup?(): Promise<void>;
  health(): Promise<Health>;
  dispose(): Promise<void>;
  /** Runtime details for the metadata endpoint (device, execution provider, threads …). */
  describe?(): Record<string, unknown>;
}

export interface RuntimeLoadRequest {
  model: string;
  version: string;
  framework: string;
  metadata: Record<string, unknown>;
  files: readonly ManifestFile[];
  /** Opens one of the version's files by its manifest path; the stream is digest-verified. */
  openFile(path: string): Readable;
  /** Options for this load, from the deployment or the config. */
  options: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface RuntimePlugin extends Contribution {
  readonly frameworks: readonly string[];
  readonly devices: readonly string[];
  load(request: RuntimeLoadRequest): Promise<ModelInstance>;
}
