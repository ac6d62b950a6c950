/**
 * Tensors as the Open Inference Protocol (KServe V2) defines them: a name, a datatype, a shape and row-major data.
 * Numeric data lives in typed arrays (FP16 as raw IEEE half bits in a Uint16Array); BYTES as one Uint8Array per
 * element.
 */
import { defineError } from './errors.ts';

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

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

export const BadTensor = defineError('MP_ERR_BAD_TENSOR', 400);

type TypedArrayConstructor = { new (length: number): NumericData; new (buffer: ArrayBuffer, offset: number, length: number): NumericData; BYTES_PER_ELEMENT: number };

const ARRAY_OF: Record<Exclude<Datatype, 'BYTES'>, TypedArrayConstructor> = {
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
} as unknown as Record<Exclude<Datatype, 'BYTES'>, TypedArrayConstructor>;

const INTEGER_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
};

export function isDatatype(value: string): value is Datatype {
  return (DATATYPES as readonly string[]).includes(value);
}

export function bytesPerElement(datatype: Datatype): number {
  return datatype === 'BYTES' ? 0 : ARRAY_OF[datatype].BYTES_PER_ELEMENT;
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function checkShape(name: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
}

/** Flattens nested JSON arrays (row-major) without recursion limits surprising anyone. */
function flatten(data: unknown): unknown[] {
  if (!Array.isArray(data)) return [data];
  return Array.isArray(data[0]) || data.some(Array.isArray) ? (data as unknown[]).flat(Infinity) : (data as unknown[]);
}

/** Builds a tensor from V2 JSON `data` (flat or nested), checking element count, types and ranges. */
export function fromJsonData(name: string, datatype: Datatype, shape: number[], data: unknown): Tensor {
  checkShape(name, shape);
  const values = flatten(data);
  const expected = elementCount(shape);
  if (values.length !== expected) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} needs ${expected} elements, but data has ${values.length}`);
  }
  if (datatype === 'BYTES') {
    return {
      name,
      datatype,
      shape,
      data: values.map((v, i) => {
        if (typeof v !== 'string') throw new BadTensor(`tensor "${name}": element ${i} of a BYTES tensor must be a string`);
        return Buffer.from(v, 'utf8');
      }),
    };
  }
  const array = new ARRAY_OF[datatype](expected);
  const range = INTEGER_RANGE[datatype];
  for (let i = 0; i < expected; i++) {
    const v = values[i];
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw new BadTensor(`tensor "${name}": element ${i} must be true or false`);
      array[i] = v ? 1 : 0;
    } else if (datatype === 'INT64' || datatype === 'UINT64') {
      if (typeof v !== 'number' && typeof v !== 'string') throw new BadTensor(`tensor "${name}": element ${i} must be an integer`);
      let big: bigint;
      try {
        big = BigInt(v);
      } catch {
        throw new BadTensor(`tensor "${name}": element ${i} (${String(v)}) is not an integer`);
      }
      if (datatype === 'UINT64' && big < 0n) throw new BadTensor(`tensor "${name}": element ${i} is negative in a UINT64 tensor`);
      (array as BigInt64Array)[i] = big;
    } else {
      if (typeof v !== 'number') {
        throw new BadTensor(`tensor "${name}": element ${i} must be a number, got ${JSON.stringify(v)}`);
      }
      if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
        throw new BadTensor(`tensor "${name}": element ${i} (${v}) is outside ${datatype}'s range ${range[0]}..${range[1]}`);
      }
      array[i] = datatype === 'FP16' ? toHalf(v) : v;
    }
  }
  return { name, datatype, shape, data: array };
}

/** V2 JSON `data` (flat, row-major): numbers, booleans for BOOL, strings for BYTES; 64-bit integers as numbers. */
export function toJsonData(tensor: Tensor): Array<number | boolean | string> {
  const { datatype, data } = tensor;
  if (datatype === 'BYTES') return (data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (datatype === 'FP16') return Array.from(data as Uint16Array, fromHalf);
  if (datatype === 'INT64' || datatype === 'UINT64') return Array.from(data as BigInt64Array, (v) => Number(v));
  return Array.from(data as Float32Array);
}

/** Raw little-endian bytes (Triton's binary tensor extension); BYTES elements are 4-byte-length-prefixed. */
export function toBinary(tensor: Tensor): Uint8Array {
  if (tensor.datatype !== 'BYTES') {
    const data = tensor.data as NumericData;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const elements = tensor.data as Uint8Array[];
  const out = Buffer.allocUnsafe(elements.reduce((sum, e) => sum + 4 + e.byteLength, 0));
  let offset = 0;
  for (const element of elements) {
    out.writeUInt32LE(element.byteLength, offset);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

export function fromBinary(name: string, datatype: Datatype, shape: number[], bytes: Uint8Array): Tensor {
  checkShape(name, shape);
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    const elements: Uint8Array[] = [];
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    while (offset < view.length) {
      if (offset + 4 > view.length) throw new BadTensor(`tensor "${name}": truncated BYTES length prefix at byte ${offset}`);
      const length = view.readUInt32LE(offset);
      if (offset + 4 + length > view.length) throw new BadTensor(`tensor "${name}": BYTES element ${elements.length} overruns the data`);
      elements.push(view.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (elements.length !== count) throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} needs ${count} elements, binary data holds ${elements.length}`);
    return { name, datatype, shape, data: elements };
  }
  const ArrayType = ARRAY_OF[datatype];
  const expectedBytes = count * ArrayType.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expectedBytes) {
    throw new BadTensor(`tensor "${name}": shape ${JSON.stringify(shape)} of ${datatype} needs ${expectedBytes} bytes, got ${bytes.byteLength}`);
  }
  // Copy into an aligned buffer: typed arrays need offsets that are multiples of their element size.
  const aligned = new Uint8Array(expectedBytes);
  aligned.set(bytes);
  return { name, datatype, shape, data: new ArrayType(aligned.buffer, 0, count) };
}

/** Concatenates each named input along dim 0 for a batch; answers the row count of each request. */
export function concatBatch(requests: ReadonlyArray<ReadonlyArray<Tensor>>): { inputs: Tensor[]; rows: number[] } {
  const first = requests[0]!;
  const rows = requests.map((inputs) => inputs[0]?.shape[0] ?? 1);
  if (requests.length === 1) return { inputs: [...first], rows };
  const inputs = first.map((template) => {
    const parts = requests.map((inputs) => {
      const match = inputs.find((t) => t.name === template.name);
      if (!match) throw new BadTensor(`tensor "${template.name}" is missing from one request of the batch`);
      return match;
    });
    const shape = [rows.reduce((a, b) => a + b, 0), ...template.shape.slice(1)];
    if (template.datatype === 'BYTES') return { ...template, shape, data: parts.flatMap((p) => p.data as Uint8Array[]) };
    const total = parts.reduce((sum, p) => sum + (p.data as NumericData).length, 0);
    const data = new ARRAY_OF[template.datatype](total);
    let offset = 0;
    for (const part of parts) {
      (data as Float32Array).set(part.data as Float32Array, offset);
      offset += (part.data as NumericData).length;
    }
    return { ...template, shape, data };
  });
  return { inputs, rows };
}

/** Splits batched outputs back into one list per request, by the row counts `concatBatch` returned. */
export function splitBatch(outputs: readonly Tensor[], rows: readonly number[]): Tensor[][] {
  if (rows.length === 1) return [[...outputs]];
  const result: Tensor[][] = rows.map(() => []);
  for (const output of outputs) {
    const perRow = elementCount(output.shape.slice(1));
    let start = 0;
    rows.forEach((count, i) => {
      const shape = [count, ...output.shape.slice(1)];
      const data = output.data.slice(start * perRow, (start + count) * perRow) as TensorData;
      result[i]!.push({ ...output, shape, data });
      start += count;
    });
  }
  return result;
}

// IEEE 754 half precision: enough for FP16 I/O without a dependency.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  const mantissa = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    const m = (mantissa | 0x800000) >> (1 - exponent);
    return sign | ((m + 0x1000) >> 13);
  }
  return sign | (exponent << 10) | ((mantissa + 0x1000) >> 13);
}

export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
