import {
  canBatch,
  checkInferRequest,
  type InferRequest,
  type InferResponse,
  InstanceUnavailable,
  type ModelInstance,
  type ModelSignature,
  type Tensor,
  warmupInputs,
} from '@modelplane/plugin-sdk';
import type { NamedTensorMap, Tensor as TfTensor } from '@tensorflow/tfjs';
import type { Tf } from './backends.ts';
import { type Executable, FROM_TFJS, TO_TFJS } from './models.ts';

function toTf(tf: Tf, tensor: Tensor): TfTensor {
  // BOOL arrives as 0/1 bytes and BYTES as one Uint8Array per element: both are what TF.js takes for bool / string.
  return tf.tensor(tensor.data as Float32Array, tensor.shape, TO_TFJS[tensor.datatype]);
}

async function fromTf(name: string, value: TfTensor): Promise<Tensor> {
  const datatype = FROM_TFJS[value.dtype]!;
  // `bytes()` keeps strings as raw bytes (`data()` would decode them); numeric data comes back as a fresh typed array.
  const data = datatype === 'BYTES' ? ((await value.bytes()) as Uint8Array[]) : ((await value.data()) as Tensor['data']);
  return { name, datatype, shape: [...value.shape], data };
}

/**
 * One loaded TF.js model. Every TF.js tensor a call creates is disposed before it answers, whatever happens, so
 * `tf.memory()` stays flat however many calls run (the tests hold it to that over 10,000 calls).
 */
export class TfjsInstance implements ModelInstance {
  readonly signature: ModelSignature;
  readonly maxBatchSize: number;
  readonly #tf: Tf;
  readonly #model: Executable;
  readonly #details: Record<string, unknown>;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #disposal: Promise<void> | undefined;

  constructor(tf: Tf, model: Executable, maxBatchSize: number, details: Record<string, unknown>) {
    this.#tf = tf;
    this.#model = model;
    this.signature = { inputs: model.inputs, outputs: model.outputs };
    this.maxBatchSize = canBatch(this.signature) ? maxBatchSize : 0;
    this.#details = details;
  }

  async #run(request: InferRequest): Promise<InferResponse> {
    const tf = this.#tf;
    const wanted = request.outputs ?? this.signature.outputs.map((s) => s.name);
    this.#inFlight++;
    const feeds: NamedTensorMap = {};
    let outputs: TfTensor[] = [];
    try {
      for (const tensor of request.inputs) feeds[tensor.name] = toTf(tf, tensor);
      // A sync model runs inside tidy, so intermediate tensors are freed at once; the async executor frees its own.
      outputs = this.#model.async ? await this.#model.run(feeds, wanted) : tf.tidy(() => this.#model.run(feeds, wanted) as TfTensor[]);
      return { outputs: await Promise.all(outputs.map((t, i) => fromTf(wanted[i]!, t))) };
    } finally {
      tf.dispose([...Object.values(feeds), ...outputs]);
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  async infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse> {
    if (this.#disposal) throw new InstanceUnavailable('this model instance was unloaded; retry the request');
    checkInferRequest(this.signature, request);
    signal?.throwIfAborted();
    return this.#run(request);
  }

  /** One zero-filled request (dynamic dimensions as 1), so kernels are compiled before the first client call. */
  async warmup(): Promise<void> {
    await this.#run({ inputs: warmupInputs(this.signature) });
  }

  async health() {
    return this.#disposal ? { ready: false, detail: 'unloaded' } : { ready: true };
  }

  describe() {
    return { ...this.#details, maxBatchSize: this.maxBatchSize };
  }

  /** Refuses new calls at once, lets the ones already running finish, then frees the model's weights. */
  dispose(): Promise<void> {
    this.#disposal ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#model.dispose();
    })();
    return this.#disposal;
  }
}
