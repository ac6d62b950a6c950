/**
 * Tensors as the Open Inference Protocol (KServe V2) defines them: a name, a datatype, a shape and row-major data.
 * Numeric data lives in typed arrays (FP16 as raw IEEE half bits in a Uint16Array, 64-bit integers in BigInt64Array /
 * BigUint64Array, BOOL as 0/1 bytes); BYTES as one Uint8Array per element.
 *
 * Binary encodings follow Triton's binary tensor extension: numeric data as raw little-endian bytes (the byte order of
 * every platform Node ships for), BYTES as each element prefixed by its length in a 4-byte little-endian integer.
 */
import { defineError } from './errors.ts';

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];
export type NumericDatatype = Exclude<Datatype, 'BYTES'>;

export type NumericData =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;
export type TensorData = NumericData | Uint8Array[];

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** A declared input or output; -1 marks a dynamic dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** Anything wrong with a tensor a client sent: the message names the tensor. */
export const BadTensor = defineError('MP_ERR_BAD_TENSOR', 400);
/** A runtime answered a batch with outputs that cannot be split back into its requests' rows. */
export const BatchSplitFailed = defineError('MP_ERR_BATCH_SPLIT', 500);

type TypedArrayConstructor = {
  new (length: number): NumericData;
  new (buffer: ArrayBuffer, offset: number, length: number): NumericData;
  readonly BYTES_PER_ELEMENT: number;
};

const ARRAY_OF = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
} as unknown as Record<NumericDatatype, TypedArrayConstructor>;

const INTEGER_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};

const BIG_RANGE: Partial<Record<Datatype, readonly [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

export function isDatatype(value: string): value is Datatype {
  return (DATATYPES as readonly string[]).includes(value);
}

/** Bytes per element in the binary encoding; 0 for BYTES, whose elements vary in length. */
export function bytesPerElement(datatype: Datatype): number {
  return datatype === 'BYTES' ? 0 : ARRAY_OF[datatype].BYTES_PER_ELEMENT;
}

/** Elements a shape holds (1 for a scalar's empty shape). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** Elements the tensor's data actually holds, which a well-formed tensor has equal to `elementCount(shape)`. */
export function dataLength(tensor: Pick<Tensor, 'data'>): number {
  return tensor.data.length;
}

/** Size of the tensor in Triton's binary encoding (BYTES: 4-byte length prefix plus content per element). */
export function byteSize(tensor: Pick<Tensor, 'datatype' | 'data'>): number {
  if (tensor.datatype !== 'BYTES') return (tensor.data as NumericData).byteLength;
  let size = 0;
  for (const element of tensor.data as Uint8Array[]) size += 4 + element.byteLength;
  return size;
}

/** Zero-filled data of `count` elements (empty byte strings for BYTES). */
export function zeroData(datatype: Datatype, count: number): TensorData {
  if (datatype === 'BYTES') return Array.from({ length: count }, () => new Uint8Array(0));
  return new ARRAY_OF[datatype](count);
}

/** A zero tensor, e.g. for warm-up requests built from a signature (resolve -1 dimensions first). */
export function zeroTensor(name: string, datatype: Datatype, shape: number[]): Tensor {
  checkShape(name, shape);
  return { name, datatype, shape, data: zeroData(datatype, elementCount(shape)) };
}

function checkShape(name: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
}

/** Flattens nested JSON arrays row-major; flat data is returned as is. */
function flatten(data: unknown): unknown[] {
  if (!Array.isArray(data)) return [data];
  for (const item of data) if (Array.isArray(item)) return data.flat(Infinity);
  return data;
}

const INTEGER_TEXT = /^-?\d+$/;

function toBigInt(name: string, datatype: Datatype, index: number, value: unknown): bigint {
  let big: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === 'string' && INTEGER_TEXT.test(value)) big = BigInt(value);
  if (big === undefined) throw new BadTensor(`tensor "${name}": element ${index} (${JSON.stringify(value)}) is not an integer`);
  const [min, max] = BIG_RANGE[datatype]!;
  if (big < min || big > max) throw new BadTensor(`tensor "${name}": element ${index} (${String(value)}) is outside ${datatype}'s range ${min}..${max}`);
  return big;
}

function notNumber(name: string, index: number, value: unknown): never {
  throw new BadTensor(`tensor "${name}": element ${index} must be a number, got ${JSON.stringify(value)}`);
}

/**
 * Builds a tensor from V2 JSON `data` (flat or nested, row-major), checking the shape, the element count, each
 * element's type and its datatype's range. INT64/UINT64 elements may also be decimal strings, for values beyond 2^53.
 */
export function fromJsonData(name: string, datatype: Datatype, shape: number[], data: unknown): Tensor {
  checkShape(name, shape);
  const values = flatten(data);
  const count = elementCount(shape);
  if (values.length !== count) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} needs ${count} elements, but data has ${values.length}`);
  }
  if (datatype === 'BYTES') {
    const elements = values.map((v, i) => {
      if (typeof v !== 'string') throw new BadTensor(`tensor "${name}": element ${i} of a BYTES tensor must be a string, got ${JSON.stringify(v)}`);
      return new Uint8Array(Buffer.from(v, 'utf8'));
    });
    return { name, datatype, shape, data: elements };
  }
  const array = new ARRAY_OF[datatype](count);
  switch (datatype) {
    case 'BOOL':
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (v !== true && v !== false && v !== 0 && v !== 1) throw new BadTensor(`tensor "${name}": element ${i} must be true or false, got ${JSON.stringify(v)}`);
        array[i] = v ? 1 : 0;
      }
      break;
    case 'INT64':
    case 'UINT64':
      for (let i = 0; i < count; i++) (array as BigInt64Array)[i] = toBigInt(name, datatype, i, values[i]);
      break;
    case 'FP16':
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number') notNumber(name, i, v);
        const bits = toHalf(v);
        if ((bits & 0x7fff) === 0x7c00) throw new BadTensor(`tensor "${name}": element ${i} (${v}) is outside FP16's range ±65504`);
        array[i] = bits;
      }
      break;
    case 'FP32':
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number') notNumber(name, i, v);
        const f = Math.fround(v);
        if (!Number.isFinite(f)) throw new BadTensor(`tensor "${name}": element ${i} (${v}) is outside FP32's range`);
        array[i] = f;
      }
      break;
    case 'FP64':
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number') notNumber(name, i, v);
        if (!Number.isFinite(v)) throw new BadTensor(`tensor "${name}": element ${i} (${v}) is outside FP64's range`);
        array[i] = v;
      }
      break;
    default: {
      const [min, max] = INTEGER_RANGE[datatype]!;
      for (let i = 0; i < count; i++) {
        const v = values[i];
        if (typeof v !== 'number') notNumber(name, i, v);
        if (!Number.isInteger(v) || v < min || v > max) {
          throw new BadTensor(`tensor "${name}": element ${i} (${v}) is outside ${datatype}'s range ${min}..${max} or not an integer`);
        }
        array[i] = v;
      }
    }
  }
  return { name, datatype, shape, data: array };
}

/**
 * V2 JSON `data`, flat and row-major: numbers, booleans for BOOL, UTF-8 strings for BYTES. 64-bit integers become
 * numbers, exact up to 2^53 (JSON numbers in JavaScript are doubles); send them as binary data when they are larger.
 */
export function toJsonData(tensor: Pick<Tensor, 'datatype' | 'data'>): Array<number | boolean | string> {
  const { datatype, data } = tensor;
  switch (datatype) {
    case 'BYTES':
      return (data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    case 'BOOL':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, fromHalf);
    case 'INT64':
    case 'UINT64':
      return Array.from(data as BigInt64Array, Number);
    default:
      return Array.from(data as Float32Array);
  }
}

/** BYTES elements in the binary encoding: each prefixed by its length as a 4-byte little-endian integer. */
export function encodeBytes(elements: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const element of elements) size += 4 + element.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

/** The inverse of `encodeBytes`; errors name the tensor. The elements are views into `bytes`, not copies. */
export function decodeBytes(name: string, bytes: Uint8Array): Uint8Array[] {
  const elements: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength) throw new BadTensor(`tensor "${name}": truncated BYTES length prefix at byte ${offset}`);
    const length = view.getUint32(offset, true);
    if (offset + 4 + length > bytes.byteLength) throw new BadTensor(`tensor "${name}": BYTES element ${elements.length} (${length} bytes) overruns the data`);
    elements.push(bytes.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return elements;
}

/** The tensor's data in Triton's binary encoding. Numeric data is a view of the tensor's own memory, not a copy. */
export function toBinary(tensor: Pick<Tensor, 'datatype' | 'data'>): Uint8Array {
  if (tensor.datatype === 'BYTES') return encodeBytes(tensor.data as Uint8Array[]);
  const data = tensor.data as NumericData;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A tensor from Triton's binary encoding, checking the byte count against the shape; the data is copied. */
export function fromBinary(name: string, datatype: Datatype, shape: number[], bytes: Uint8Array): Tensor {
  checkShape(name, shape);
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    const elements = decodeBytes(name, new Uint8Array(bytes));
    if (elements.length !== count) {
      throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} needs ${count} elements, binary data holds ${elements.length}`);
    }
    return { name, datatype, shape, data: elements };
  }
  const ArrayType = ARRAY_OF[datatype];
  const expectedBytes = count * ArrayType.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expectedBytes) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} of ${datatype} needs ${expectedBytes} bytes, got ${bytes.byteLength}`);
  }
  // A copy, because typed arrays need offsets aligned to their element size and request buffers may be pooled.
  // (`new Uint8Array(view)` copies; Buffer's `slice` would not.)
  const copy = new Uint8Array(bytes);
  return { name, datatype, shape, data: new ArrayType(copy.buffer, 0, count) };
}

/**
 * Requests with the same key can share a batch: the same input names and datatypes, and the same dimensions after
 * the first. A batcher groups queued requests by this key before `concatBatch`.
 */
export function batchKey(inputs: readonly Tensor[]): string {
  return inputs
    .map((t) => `${t.name}:${t.datatype}:${t.shape.slice(1).join('x')}`)
    .sort()
    .join('|');
}

function rowsOf(inputs: readonly Tensor[]): number {
  const first = inputs[0];
  if (!first) throw new BadTensor('a request in the batch has no inputs');
  for (const tensor of inputs) {
    if (tensor.shape.length === 0) throw new BadTensor(`tensor "${tensor.name}" is a scalar and has no batch dimension`);
    if (tensor.shape[0] !== first.shape[0]) {
      throw new BadTensor(`tensor "${tensor.name}" has ${tensor.shape[0]} rows, but "${first.name}" has ${first.shape[0]}; every input needs the same batch size`);
    }
  }
  return first.shape[0]!;
}

/**
 * Concatenates the requests' inputs along dim 0 into one batch, and answers each request's row count for
 * `splitBatch`. Requests must agree on names, datatypes and the dimensions after the first (see `batchKey`).
 */
export function concatBatch(requests: ReadonlyArray<ReadonlyArray<Tensor>>): { inputs: Tensor[]; rows: number[] } {
  const first = requests[0];
  if (!first) throw new Error('concatBatch needs at least one request');
  // One request is passed through untouched, so models that cannot batch (scalars, fixed dims) work too.
  if (requests.length === 1) return { inputs: [...first], rows: [first[0]?.shape[0] ?? 1] };
  const rows = requests.map(rowsOf);
  const total = rows.reduce((a, b) => a + b, 0);
  const inputs = first.map((template): Tensor => {
    const trailing = template.shape.slice(1);
    const parts = requests.map((inputs) => {
      const match = inputs.find((t) => t.name === template.name);
      if (!match) throw new BadTensor(`tensor "${template.name}" is missing from one request of the batch`);
      if (match.datatype !== template.datatype) throw new BadTensor(`tensor "${template.name}" is ${match.datatype} in one request of the batch and ${template.datatype} in another`);
      if (match.shape.length !== template.shape.length || match.shape.some((d, i) => i > 0 && d !== template.shape[i])) {
        throw new BadTensor(`tensor "${template.name}" has shape ${JSON.stringify(match.shape)} in one request of the batch and ${JSON.stringify(template.shape)} in another`);
      }
      return match;
    });
    const shape = [total, ...trailing];
    if (template.datatype === 'BYTES') return { name: template.name, datatype: template.datatype, shape, data: parts.flatMap((p) => p.data as Uint8Array[]) };
    const data = new ARRAY_OF[template.datatype](elementCount(shape));
    let offset = 0;
    for (const part of parts) {
      (data as Float32Array).set(part.data as Float32Array, offset);
      offset += part.data.length;
    }
    return { name: template.name, datatype: template.datatype, shape, data };
  });
  for (const inputs of requests) {
    if (inputs.length !== first.length) throw new BadTensor(`one request of the batch has ${inputs.length} inputs and another ${first.length}`);
  }
  return { inputs, rows };
}

/**
 * Splits a batch's outputs back into one list per request, by the row counts `concatBatch` returned. Each part is a
 * view of the batch output, not a copy. Throws BatchSplitFailed (500) when an output does not have the batch's rows.
 */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  if (rows.length === 1) return [[...outputs]];
  const total = rows.reduce((a, b) => a + b, 0);
  const result: Tensor[][] = rows.map(() => []);
  for (const output of outputs) {
    if (output.shape[0] !== total) {
      throw new BatchSplitFailed(`output "${output.name}" has shape ${JSON.stringify(output.shape)}; a batch of ${total} rows needs dim 0 = ${total}`);
    }
    const trailing = output.shape.slice(1);
    const perRow = elementCount(trailing);
    let start = 0;
    rows.forEach((count, i) => {
      const from = start * perRow;
      const to = (start + count) * perRow;
      const data = Array.isArray(output.data) ? output.data.slice(from, to) : output.data.subarray(from, to);
      result[i]!.push({ name: output.name, datatype: output.datatype, shape: [count, ...trailing], data });
      start += count;
    });
  }
  return result;
}

// IEEE 754 half precision: enough for FP16 I/O without a dependency. Rounds to nearest, ties to even.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The FP16 bits nearest to `value`. */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const biased = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (biased === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const exponent = biased - 127 + 15;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    // Subnormal half: shift the full mantissa down, rounding to nearest even.
    const full = mantissa | 0x800000;
    const shift = 14 - exponent;
    const half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && half & 1) ? half + 1 : half);
  }
  const half = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** The number FP16 bits stand for. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** FP16 bits for each number, e.g. to fill an FP16 tensor's Uint16Array. */
export function halfFromFloats(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]!);
  return out;
}

/** The numbers an FP16 tensor's bits stand for. */
export function floatsFromHalf(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalf(bits[i]!);
  return out;
}
