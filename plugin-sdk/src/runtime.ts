/** Runtime extension point: load a registered version and serve it. */
import type { Readable } from 'node:stream';
import type { Contribution } from './contribution.ts';

export interface Health {
  ready: boolean;
  detail?: string;
}

/** A loaded model, served by the core's batcher (tensor models) or gateway (chat models). */
export interface ModelInstance {
  /** 0: the runtime cannot batch; requests run one at a time. */
  readonly maxBatchSize: number;
  warmup?(): Promise<void>;
  health(): Promise<Health>;
  dispose(): Promise<void>;
}

export interface RuntimeLoadRequest {
  model: string;
  version: string;
  framework: string;
  /** Opens one of the version's files by its manifest path; the stream is digest-verified. */
  openFile(path: string): Readable;
  files: ReadonlyArray<{ path: string; digest: string; size: number }>;
  options: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface RuntimePlugin extends Contribution {
  readonly frameworks: readonly string[];
  readonly devices: readonly string[];
  load(request: RuntimeLoadRequest): Promise<ModelInstance>;
}
