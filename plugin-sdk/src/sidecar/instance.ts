/**
 * A ModelInstance backed by a supervised sidecar: what a Python runtime plugin returns from `load` once it has
 * checked the artifacts and knows how to start its interpreter. The sidecar's LOAD reply declares the signature.
 */
import {
  canBatch,
  checkInferRequest,
  type Health,
  type InferRequest,
  type InferResponse,
  InstanceUnavailable,
  type ModelInstance,
  type ModelSignature,
  UnservableModel,
  warmupInputs,
} from '../runtime.ts';
import { isDatatype } from '../tensors.ts';
import { Op, tensorsFromWire, tensorsToWire } from './framing.ts';
import { z } from 'zod';
import { Sidecar, type SidecarOptions, sidecarError } from './supervisor.ts';

/** The options every Python sidecar runtime takes; a runtime extends them with its own (`.extend({ device: … })`). */
export const SidecarRuntimeOptions = z.strictObject({
  /** The interpreter; default: the environment `modelplane plugins setup <plugin>` built. */
  python: z.string().min(1).optional(),
  maxBatchSize: z.int().min(1).max(65536).default(64),
  specFile: z.string().min(1).default('spec.json'),
  weightsFile: z.string().min(1).optional(),
  pingIntervalMs: z.int().min(50).default(500),
  pingTimeoutMs: z.int().min(100).default(1500),
  /** Keep a pre-started spare interpreter so a crashed sidecar is replaced in milliseconds, not seconds. */
  spare: z.boolean().default(true),
});

/** The supervision part of those options, as SidecarInstance.start takes it. */
export function supervisionOf(options: z.output<typeof SidecarRuntimeOptions>) {
  return { maxBatchSize: options.maxBatchSize, pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs, spare: options.spare };
}

function signatureFrom(loaded: Record<string, unknown>, name: string): ModelSignature {
  const specs = (value: unknown, role: string) => {
    if (!Array.isArray(value) || value.length === 0) throw new UnservableModel(`sidecar ${name} declared no ${role}s`);
    return value.map((s: { name?: unknown; datatype?: unknown; shape?: unknown }) => {
      if (typeof s.name !== 'string' || typeof s.datatype !== 'string' || !isDatatype(s.datatype) || !Array.isArray(s.shape)) {
        throw new UnservableModel(`sidecar ${name} declared a malformed ${role}: ${JSON.stringify(s)}`);
      }
      return { name: s.name, datatype: s.datatype, shape: s.shape as number[] };
    });
  };
  return { inputs: specs(loaded.inputs, 'input'), outputs: specs(loaded.outputs, 'output') };
}

export class SidecarInstance implements ModelInstance {
  readonly signature: ModelSignature;
  readonly maxBatchSize: number;
  readonly sidecar: Sidecar;
  readonly #details: Record<string, unknown>;
  #disposal: Promise<void> | undefined;

  private constructor(sidecar: Sidecar, maxBatchSize: number, details: Record<string, unknown>, name: string) {
    this.sidecar = sidecar;
    this.signature = signatureFrom(sidecar.loaded, name);
    this.maxBatchSize = canBatch(this.signature) ? maxBatchSize : 0;
    this.#details = details;
  }

  /** Starts the sidecar, loads the model and reads its signature from the LOAD reply. */
  static async start(options: SidecarOptions & { maxBatchSize: number; details?: Record<string, unknown> }): Promise<SidecarInstance> {
    const sidecar = await Sidecar.start(options);
    try {
      return new SidecarInstance(sidecar, options.maxBatchSize, options.details ?? {}, options.name);
    } catch (error) {
      await sidecar.close();
      throw error;
    }
  }

  async infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse> {
    if (this.#disposal) throw new InstanceUnavailable('this model instance was unloaded; retry the request');
    checkInferRequest(this.signature, request);
    const { specs, payload } = tensorsToWire(request.inputs);
    const outputs = request.outputs ?? this.signature.outputs.map((s) => s.name);
    const reply = await this.sidecar.request(Op.INFER, { inputs: specs, outputs }, payload, signal);
    if (reply.op === Op.ERROR) throw sidecarError(reply);
    return { outputs: tensorsFromWire(reply.header.outputs, reply.payload) };
  }

  async warmup(): Promise<void> {
    await this.infer({ inputs: warmupInputs(this.signature) });
  }

  async health(): Promise<Health> {
    return this.#disposal ? { ready: false, detail: 'unloaded' } : this.sidecar.health();
  }

  describe(): Record<string, unknown> {
    const { inputs: _inputs, outputs: _outputs, ...loaded } = this.sidecar.loaded;
    return { ...this.#details, ...loaded, pid: this.sidecar.pid, restarts: this.sidecar.restarts, maxBatchSize: this.maxBatchSize };
  }

  dispose(): Promise<void> {
    this.#disposal ??= this.sidecar.close();
    return this.#disposal;
  }
}
