import { describe, expect, it } from 'vitest';
import {
  batchKey,
  byteSize,
  bytesPerElement,
  concatBatch,
  DATATYPES,
  type Datatype,
  decodeBytes,
  elementCount,
  encodeBytes,
  floatsFromHalf,
  fromBinary,
  fromHalf,
  fromJsonData,
  halfFromFloats,
  splitBatch,
  type Tensor,
  toBinary,
  toHalf,
  toJsonData,
  zeroTensor,
} from './tensors.ts';

/** Six values per datatype, including each type's extremes. */
const SAMPLES: Record<Datatype, Array<number | boolean | string>> = {
  BOOL: [true, false, true, true, false, false],
  UINT8: [0, 1, 2, 127, 128, 255],
  UINT16: [0, 1, 256, 32768, 65534, 65535],
  UINT32: [0, 1, 65536, 2147483648, 4294967294, 4294967295],
  UINT64: [0, 1, 2 ** 32, 2 ** 40 + 7, 2 ** 53 - 2, 2 ** 53 - 1],
  INT8: [-128, -1, 0, 1, 100, 127],
  INT16: [-32768, -1, 0, 1, 1000, 32767],
  INT32: [-2147483648, -1, 0, 1, 123456789, 2147483647],
  INT64: [-(2 ** 53) + 1, -(2 ** 40), -1, 0, 2 ** 40, 2 ** 53 - 1],
  FP16: [0, 1, -2.5, 65504, -65504, 0.0999755859375],
  FP32: [0, 1.5, -2.25, 3.4028234663852886e38, 1.1754943508222875e-38, -0.1 as number],
  FP64: [0, 0.1, -1e300, 5e-324, Math.PI, -Math.E],
  BYTES: ['', 'a', 'ünïcode ✓', 'with\nnewline', '\u0000nul', 'x'.repeat(300)],
};
// -0.1 is not an FP32 value; what comes back is its FP32 rounding.
const FP32_BACK = SAMPLES.FP32.map((v) => Math.fround(v as number));

describe('tensors: every datatype', () => {
  it.each(DATATYPES)('%s round-trips through JSON (flat and nested) and binary', (datatype) => {
    const values = SAMPLES[datatype];
    const expected = datatype === 'FP32' ? FP32_BACK : values;
    const flat = fromJsonData('t', datatype, [2, 3], values);
    expect(flat.shape).toEqual([2, 3]);
    expect(toJsonData(flat)).toEqual(expected);
    const nested = fromJsonData('t', datatype, [2, 3], [values.slice(0, 3), values.slice(3)]);
    expect(toJsonData(nested)).toEqual(expected);
    const binary = toBinary(flat);
    expect(binary.byteLength).toBe(byteSize(flat));
    if (datatype !== 'BYTES') expect(binary.byteLength).toBe(6 * bytesPerElement(datatype));
    const back = fromBinary('t', datatype, [2, 3], binary);
    expect(toJsonData(back)).toEqual(expected);
    expect(back.data.constructor).toBe(flat.data.constructor);
  });

  it('keeps numeric data in the typed array each datatype maps to', () => {
    const arrays: Record<Exclude<Datatype, 'BYTES'>, unknown> = {
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
    };
    for (const [datatype, ArrayType] of Object.entries(arrays)) {
      expect(fromJsonData('t', datatype as Datatype, [1], [1]).data).toBeInstanceOf(ArrayType);
    }
    expect(fromJsonData('s', 'BYTES', [1], ['hi']).data).toEqual([new Uint8Array([104, 105])]);
  });

  it('writes numeric binary data little-endian', () => {
    expect([...toBinary(fromJsonData('x', 'INT32', [1], [0x01020304]))]).toEqual([4, 3, 2, 1]);
    expect([...toBinary(fromJsonData('h', 'FP16', [1], [1]))]).toEqual([0x00, 0x3c]);
    expect([...toBinary(fromJsonData('b', 'INT64', [1], [-2]))]).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it('reads binary data at any byte offset, copying it', () => {
    const source = new Uint8Array(9);
    source.set([1, 0, 0, 0, 2, 0, 0, 0], 1);
    const tensor = fromBinary('x', 'INT32', [2], source.subarray(1));
    expect(toJsonData(tensor)).toEqual([1, 2]);
    source[1] = 9;
    expect(toJsonData(tensor)).toEqual([1, 2]);
    const pooled = Buffer.concat([Buffer.from('header'), Buffer.from(new Float32Array([1.5, -2]).buffer)]);
    expect(toJsonData(fromBinary('f', 'FP32', [2], pooled.subarray(6)))).toEqual([1.5, -2]);
    const strings = Buffer.concat([Buffer.from('hdr'), Buffer.from(encodeBytes([new Uint8Array([104, 105])]))]);
    const decoded = fromBinary('s', 'BYTES', [1], strings.subarray(3));
    strings.fill(0);
    expect(toJsonData(decoded)).toEqual(['hi']);
  });

  it('takes 64-bit integers beyond 2^53 as decimal strings', () => {
    const big = fromJsonData('n', 'UINT64', [2], ['18446744073709551615', 0]);
    expect([...(big.data as BigUint64Array)]).toEqual([18446744073709551615n, 0n]);
    const negative = fromJsonData('n', 'INT64', [1], ['-9223372036854775808']);
    expect([...(negative.data as BigInt64Array)]).toEqual([-9223372036854775808n]);
  });

  it('makes zero tensors for warm-up requests', () => {
    expect(toJsonData(zeroTensor('z', 'FP32', [2, 2]))).toEqual([0, 0, 0, 0]);
    expect(toJsonData(zeroTensor('z', 'BYTES', [3]))).toEqual(['', '', '']);
    expect(toJsonData(zeroTensor('z', 'BOOL', [1]))).toEqual([false]);
  });
});

describe('tensors: bad input names the tensor', () => {
  it('refuses a wrong element count, flat or nested', () => {
    expect(() => fromJsonData('features', 'FP32', [1, 64], [1, 2, 3])).toThrow('tensor "features": shape [1,64] needs 64 elements, but data has 3');
    expect(() => fromJsonData('features', 'FP32', [2, 2], [[1, 2], [3]])).toThrow('tensor "features": shape [2,2] needs 4 elements, but data has 3');
    expect(() => fromJsonData('s', 'BYTES', [2], ['a'])).toThrow('tensor "s"');
  });

  it('answers coded 400 errors', () => {
    let error: unknown;
    try {
      fromJsonData('x', 'FP32', [2], [1]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'MP_ERR_BAD_TENSOR', statusCode: 400 });
  });

  it('refuses bad shapes', () => {
    expect(() => fromJsonData('x', 'FP32', [-1, 2], [1, 2])).toThrow('tensor "x": shape [-1,2] must be a list of non-negative integers');
    expect(() => fromJsonData('x', 'FP32', [1.5], [1])).toThrow('tensor "x"');
  });

  it.each([
    ['UINT8', 256, "outside UINT8's range 0..255"],
    ['UINT8', -1, "outside UINT8's range"],
    ['INT8', 128, "outside INT8's range -128..127"],
    ['INT16', -32769, "outside INT16's range"],
    ['UINT16', 65536, "outside UINT16's range"],
    ['INT32', 2 ** 31, "outside INT32's range"],
    ['UINT32', 2 ** 32, "outside UINT32's range"],
    ['INT32', 1.5, 'not an integer'],
    ['INT64', '9223372036854775808', "outside INT64's range"],
    ['UINT64', -1, "outside UINT64's range"],
    ['UINT64', '18446744073709551616', "outside UINT64's range"],
    ['INT64', 1.5, 'is not an integer'],
    ['INT64', '0x10', 'is not an integer'],
    ['INT64', '', 'is not an integer'],
    ['FP16', 65520, "outside FP16's range"],
    ['FP32', 1e39, "outside FP32's range"],
    // JSON has no Infinity: 1e400 parses to it, an overflow rather than a value the client meant.
    ['FP16', JSON.parse('1e400') as number, "outside FP16's range"],
    ['FP32', JSON.parse('1e400') as number, "outside FP32's range"],
    ['FP64', JSON.parse('-1e400') as number, "outside FP64's range"],
    ['FP32', 'one', 'must be a number, got "one"'],
    ['FP64', null, 'must be a number, got null'],
    ['BOOL', 2, 'must be true or false'],
    ['BOOL', 'true', 'must be true or false'],
    ['BYTES', 5, 'must be a string'],
  ] as const)('%s refuses %j', (datatype, value, message) => {
    expect(() => fromJsonData('v', datatype, [2], [datatype === 'BYTES' ? 'ok' : 0, value])).toThrow(`tensor "v": element 1`);
    expect(() => fromJsonData('v', datatype, [2], [datatype === 'BYTES' ? 'ok' : 0, value])).toThrow(message);
  });

  it('refuses binary data of the wrong size', () => {
    expect(() => fromBinary('x', 'FP32', [2], new Uint8Array(7))).toThrow('tensor "x": shape [2] of FP32 needs 8 bytes, got 7');
    expect(() => fromBinary('s', 'BYTES', [2], encodeBytes([new Uint8Array(1)]))).toThrow('tensor "s": shape [2] needs 2 elements, binary data holds 1');
  });
});

describe('tensors: BYTES encoding', () => {
  it('prefixes each element with its length as a 4-byte little-endian integer', () => {
    const encoded = encodeBytes([new Uint8Array([0x61]), new Uint8Array(0), new Uint8Array([1, 2, 3])]);
    expect([...encoded]).toEqual([1, 0, 0, 0, 0x61, 0, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3]);
    expect(decodeBytes('s', encoded).map((e) => [...e])).toEqual([[0x61], [], [1, 2, 3]]);
    expect(byteSize({ datatype: 'BYTES', data: [new Uint8Array(5), new Uint8Array(0)] })).toBe(13);
  });

  it('refuses truncated data, naming the tensor', () => {
    expect(() => decodeBytes('s', new Uint8Array([5, 0, 0, 0, 1]))).toThrow('tensor "s": BYTES element 0 (5 bytes) overruns the data');
    expect(() => decodeBytes('s', new Uint8Array([1, 0, 0, 0, 1, 2]))).toThrow('tensor "s": truncated BYTES length prefix at byte 5');
  });
});

describe('tensors: FP16', () => {
  it('rounds to the nearest half, ties to even, with subnormals and infinities', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(65520)).toBe(0x7c00);
    expect(toHalf(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(Number.isNaN(fromHalf(toHalf(Number.NaN)))).toBe(true);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(toHalf(2 ** -25)).toBe(0x0000);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(fromHalf(0x0001)).toBe(2 ** -24);
    expect(fromHalf(0x3555)).toBeCloseTo(1 / 3, 3);
  });

  it('converts arrays of floats to half bits and back', () => {
    const bits = halfFromFloats([0.5, -1.25, 1024]);
    expect([...bits]).toEqual([0x3800, 0xbd00, 0x6400]);
    expect([...floatsFromHalf(bits)]).toEqual([0.5, -1.25, 1024]);
  });
});

describe('tensors: batches', () => {
  const request = (x: number[][], k: number[]): Tensor[] => [fromJsonData('x', 'FP32', [x.length, 2], x), fromJsonData('k', 'INT64', [k.length, 1], k)];

  it('concatenates along dim 0 and splits each request its own rows back', () => {
    const a = request([[1, 2]], [10]);
    const b = request([[3, 4], [5, 6]], [20, 30]);
    const c = request([[7, 8]], [40]);
    const { inputs, rows } = concatBatch([a, b, c]);
    expect(rows).toEqual([1, 2, 1]);
    expect(inputs.map((t) => [t.name, t.shape, toJsonData(t)])).toEqual([
      ['x', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]],
      ['k', [4, 1], [10, 20, 30, 40]],
    ]);
    const parts = splitBatch(inputs, rows);
    expect(parts.map((p) => p.map((t) => [t.shape, toJsonData(t)]))).toEqual([
      [[[1, 2], [1, 2]], [[1, 1], [10]]],
      [[[2, 2], [3, 4, 5, 6]], [[2, 1], [20, 30]]],
      [[[1, 2], [7, 8]], [[1, 1], [40]]],
    ]);
  });

  it('batches BYTES tensors', () => {
    const a = [fromJsonData('s', 'BYTES', [1], ['a'])];
    const b = [fromJsonData('s', 'BYTES', [2], ['b', 'c'])];
    const { inputs, rows } = concatBatch([a, b]);
    expect(toJsonData(inputs[0]!)).toEqual(['a', 'b', 'c']);
    expect(splitBatch(inputs, rows).map((p) => toJsonData(p[0]!))).toEqual([['a'], ['b', 'c']]);
  });

  it('passes a single request through untouched, scalars included', () => {
    const scalar = [fromJsonData('s', 'FP32', [], 3)];
    const { inputs, rows } = concatBatch([scalar]);
    expect(inputs[0]).toBe(scalar[0]);
    expect(splitBatch(inputs, rows)).toEqual([inputs]);
  });

  it('keys requests that can share a batch', () => {
    expect(batchKey(request([[1, 2]], [1]))).toBe(batchKey(request([[3, 4], [5, 6]], [2, 3])));
    expect(batchKey([fromJsonData('x', 'FP32', [1, 3], [1, 2, 3])])).not.toBe(batchKey([fromJsonData('x', 'FP32', [1, 2], [1, 2])]));
    expect(batchKey([fromJsonData('x', 'FP32', [1], [1])])).not.toBe(batchKey([fromJsonData('x', 'FP64', [1], [1])]));
  });

  it('refuses requests that cannot share a batch, naming the tensor', () => {
    const a = [fromJsonData('x', 'FP32', [1, 2], [1, 2])];
    expect(() => concatBatch([a, [fromJsonData('x', 'FP32', [1, 3], [1, 2, 3])]])).toThrow('tensor "x" has shape [1,3] in one request of the batch and [1,2] in another');
    expect(() => concatBatch([a, [fromJsonData('x', 'FP64', [1, 2], [1, 2])]])).toThrow('tensor "x" is FP64 in one request');
    expect(() => concatBatch([a, [fromJsonData('y', 'FP32', [1, 2], [1, 2])]])).toThrow('tensor "x" is missing from one request');
    expect(() => concatBatch([a, request([[1, 2]], [1, 2])])).toThrow('tensor "k" has 2 rows, but "x" has 1');
  });

  it('refuses to split an output without the batch rows, naming it', () => {
    const reduced: Tensor = { name: 'total', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    expect(() => splitBatch([reduced], [1, 2])).toThrow(expect.objectContaining({ code: 'MP_ERR_BATCH_SPLIT', message: expect.stringContaining('output "total"') }));
  });

  it('counts elements', () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 0, 3])).toBe(0);
    expect(elementCount([4, 64])).toBe(256);
  });
});
