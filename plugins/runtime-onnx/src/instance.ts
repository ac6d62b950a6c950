import {
  BadTensor,
  type Datatype,
  elementCount,
  fromJsonData,
  type InferRequest,
  type InferResponse,
  type ModelInstance,
  type Tensor,
  type TensorSpec,
} from '@modelplane/plugin-sdk';
import * as ort from 'onnxruntime-node';

const FROM_ORT: Record<string, Datatype> = {
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

function specsOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => ({
    name: m.name,
    datatype: m.isTensor ? (FROM_ORT[m.type] ?? 'BYTES') : 'BYTES',
    shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) : [],
  }));
}

function toOrt(tensor: Tensor): ort.Tensor {
  if (tensor.datatype === 'BYTES') {
    const strings = (tensor.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    return new ort.Tensor('string', strings, tensor.shape);
  }
  return new ort.Tensor(TO_ORT[tensor.datatype], tensor.data as never, tensor.shape);
}

function fromOrt(name: string, value: ort.Tensor): Tensor {
  const datatype = FROM_ORT[value.type] ?? 'BYTES';
  const data = datatype === 'BYTES' ? (value.data as string[]).map((s) => Buffer.from(s, 'utf8')) : (value.data as Tensor['data']);
  return { name, datatype, shape: [...value.dims], data };
}

/** One loaded model: N sessions used round-robin (instances), each request checked against the signature first. */
export class OnnxInstance implements ModelInstance {
  readonly signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  readonly maxBatchSize: number;
  readonly #sessions: ort.InferenceSession[];
  readonly #details: Record<string, unknown>;
  #next = 0;
  #disposed = false;

  constructor(sessions: ort.InferenceSession[], maxBatchSize: number, details: Record<string, unknown>) {
    this.#sessions = sessions;
    const first = sessions[0]!;
    this.signature = { inputs: specsOf(first.inputMetadata), outputs: specsOf(first.outputMetadata) };
    const batchable = this.signature.inputs.every((s) => s.shape[0] === -1);
    this.maxBatchSize = batchable ? maxBatchSize : 0;
    this.#details = details;
  }

  #check(inputs: Tensor[]): void {
    const given = new Map(inputs.map((t) => [t.name, t]));
    for (const tensor of inputs) {
      if (!this.signature.inputs.some((s) => s.name === tensor.name)) {
        throw new BadTensor(`unknown input "${tensor.name}"; the model takes: ${this.signature.inputs.map((s) => s.name).join(', ')}`);
      }
    }
    for (const spec of this.signature.inputs) {
      const tensor = given.get(spec.name);
      if (!tensor) throw new BadTensor(`input "${spec.name}" is missing`);
      if (tensor.datatype !== spec.datatype) {
        throw new BadTensor(`input "${spec.name}" must be ${spec.datatype}, got ${tensor.datatype}`);
      }
      const rankOk = spec.shape.length === tensor.shape.length;
      const dimsOk = rankOk && spec.shape.every((d, i) => d === -1 || d === tensor.shape[i]);
      if (!dimsOk) {
        throw new BadTensor(`input "${spec.name}" must have shape ${JSON.stringify(spec.shape)} (-1: any), got ${JSON.stringify(tensor.shape)}`);
      }
      const count = tensor.datatype === 'BYTES' ? (tensor.data as Uint8Array[]).length : (tensor.data as { length: number }).length;
      if (count !== elementCount(tensor.shape)) {
        throw new BadTensor(`input "${spec.name}": shape ${JSON.stringify(tensor.shape)} needs ${elementCount(tensor.shape)} elements, got ${count}`);
      }
    }
  }

  async infer(request: InferRequest, signal?: AbortSignal): Promise<InferResponse> {
    if (this.#disposed) throw new Error('this model instance was disposed');
    this.#check(request.inputs);
    if (request.outputs) {
      for (const name of request.outputs) {
        if (!this.signature.outputs.some((s) => s.name === name)) {
          throw new BadTensor(`unknown output "${name}"; the model produces: ${this.signature.outputs.map((s) => s.name).join(', ')}`);
        }
      }
    }
    signal?.throwIfAborted();
    const session = this.#sessions[this.#next++ % this.#sessions.length]!;
    const feeds = Object.fromEntries(request.inputs.map((t) => [t.name, toOrt(t)]));
    const wanted = request.outputs ?? this.signature.outputs.map((s) => s.name);
    const results = await session.run(feeds, wanted);
    return { outputs: wanted.map((name) => fromOrt(name, results[name] as ort.Tensor)) };
  }

  /** Runs one zero-filled request per session so the first real request does not pay for lazy initialisation. */
  async warmup(): Promise<void> {
    const inputs = this.signature.inputs.map((spec) => {
      const shape = spec.shape.map((d) => (d === -1 ? 1 : d));
      const zeros = new Array(elementCount(shape)).fill(spec.datatype === 'BYTES' ? '' : 0);
      return fromJsonData(spec.name, spec.datatype, shape, zeros);
    });
    for (const _session of this.#sessions) await this.infer({ inputs });
  }

  async health() {
    return this.#disposed ? { ready: false, detail: 'disposed' } : { ready: true };
  }

  describe() {
    return { ...this.#details, sessions: this.#sessions.length };
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.all(this.#sessions.map((s) => s.release()));
  }
}
