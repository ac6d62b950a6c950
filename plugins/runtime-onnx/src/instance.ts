import {
  BadTensor,
  canBatch,
  checkInferRequest,
  type Datatype,
  type InferRequest,
  type InferResponse,
  InstanceUnavailable,
  type ModelInstance,
  type ModelSignature,
  type Tensor,
  type TensorSpec,
  UnservableModel,
  warmupInputs,
} from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';

const FROM_ORT: Readonly<Record<string, Datatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};
const TO_ORT = Object.fromEntries(Object.entries(FROM_ORT).map(([k, v]) => [v, k])) as Record<Datatype, ort.Tensor.Type>;

/** The V2 signature of a session; a tensor type V2 cannot carry (sequences, maps, 4-bit, bfloat16) refuses the model. */
export function signatureOf(session: ort.InferenceSession, modelFile: string): ModelSignature {
  const specs = (metadata: readonly ort.InferenceSession.ValueMetadata[], role: string): TensorSpec[] =>
    metadata.map((m) => {
      const datatype = m.isTensor ? FROM_ORT[m.type] : undefined;
      if (!m.isTensor || !datatype) {
        const kind = m.isTensor ? `tensor(${m.type})` : 'a non-tensor value (sequence or map)';
        throw new UnservableModel(`${modelFile}: ${role} "${m.name}" is ${kind}, which the Open Inference Protocol cannot carry`);
      }
      return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
    });
  return { inputs: specs(session.inputMetadata, 'input'), outputs: specs(session.outputMetadata, 'output') };
}

function toOrt(tensor: Tensor): ort.Tensor {
  if (tensor.datatype === 'BYTES') {
    const strings = (tensor.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    return new ort.Tensor('string', strings, tensor.shape);
  }
  if (tensor.datatype === 'FP16') {
    const bits = tensor.data as Uint16Array;
    const half = new ort.Tensor('float16', bits, tensor.shape);
    // onnxruntime-common wraps the bits in a Float16Array where the platform has one (Node 24), which the N-API
    // binding cannot read ("not enough space: expected N, got 0"); hand it the raw bits it reads fine.
    if (!(half.data instanceof Uint16Array)) (half as unknown as { cpuData: Uint16Array }).cpuData = bits;
    return half;
  }
  // BOOL as 0/1 bytes is the SDK's own layout too.
  return new ort.Tensor(TO_ORT[tensor.datatype], tensor.data as ort.Tensor.DataType, tensor.shape);
}

function fromOrt(name: string, value: ort.Tensor): Tensor {
  const datatype = FROM_ORT[value.type];
  if (!datatype) throw new UnservableModel(`output "${name}" came back as ${value.type}, which the Open Inference Protocol cannot carry`);
  const shape = value.dims.map(Number);
  if (datatype === 'BYTES') return { name, datatype, shape, data: (value.data as string[]).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))) };
  if (datatype === 'FP16') {
    // Float16Array where the platform has it; the SDK keeps FP16 as raw bits.
    const half = value.data as unknown as { buffer: ArrayBuffer; byteOffset: number; length: number };
    return { name, datatype, shape, data: new Uint16Array(half.buffer, half.byteOffset, half.length) };
  }
  return { name, datatype, shape, data: value.data as Tensor['data'] };
}

/** onnxruntime reports bad feeds it alone can see (a dimension an operator rejects) as INVALID_ARGUMENT. */
function classify(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  if (/INVALID_ARGUMENT|Got invalid dimensions|Unexpected input data type/.test(message)) return new BadTensor(`onnxruntime refused the input: ${message}`, { cause: error });
  return error;
}

/** One loaded model: N sessions used round-robin; each request is checked against the signature before it runs. */
export class OnnxInstance implements ModelInstance {
  readonly signature: ModelSignature;
  readonly maxBatchSize: number;
  readonly #sessions: ort.InferenceSession[];
  readonly #details: Record<string, unknown>;
  #next = 0;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #disposal: Promise<void> | undefined;

  constructor(sessions: ort.InferenceSession[], signature: ModelSignature, maxBatchSize: number, details: Record<string, unknown>) {
    this.#sessions = sessions;
    this.signature = signature;
    this.maxBatchSize = canBatch(signature) ? maxBatchSize : 0;
    this.#details = details;
  }

  async #run(session: ort.InferenceSession, request: InferRequest): Promise<InferResponse> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const tensor of request.inputs) feeds[tensor.name] = toOrt(tensor);
    const wanted = request.outputs ?? this.signature.outputs.map((s) => s.name);
    this.#inFlight++;
    try {
      const results = await session.run(feeds, wanted);
      return { outputs: wanted.map((name) => fromOrt(name, results[name]!)) };
    } catch (error) {
      throw classify(error);
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  async infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse> {
    if (this.#disposal) throw new InstanceUnavailable('this model instance was unloaded; retry the request');
    checkInferRequest(this.signature, request);
    signal?.throwIfAborted();
    const session = this.#sessions[this.#next]!;
    this.#next = (this.#next + 1) % this.#sessions.length;
    return this.#run(session, request);
  }

  /** One zero-filled request per session (dynamic dimensions as 1), so no first client pays for lazy set-up. */
  async warmup(): Promise<void> {
    const inputs = warmupInputs(this.signature);
    for (const session of this.#sessions) await this.#run(session, { inputs });
  }

  async health() {
    return this.#disposal ? { ready: false, detail: 'unloaded' } : { ready: true };
  }

  describe() {
    return { ...this.#details, sessions: this.#sessions.length, maxBatchSize: this.maxBatchSize };
  }

  /** Refuses new calls at once, lets the ones already running finish, then frees the sessions. */
  dispose(): Promise<void> {
    this.#disposal ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await Promise.all(this.#sessions.map((s) => s.release()));
    })();
    return this.#disposal;
  }
}
