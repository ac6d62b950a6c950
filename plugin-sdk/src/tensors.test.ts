import { describe, expect, it } from 'vitest';
import { concatBatch, DATATYPES, fromBinary, fromHalf, fromJsonData, splitBatch, toBinary, toHalf, toJsonData } from './tensors.ts';

describe('tensors', () => {
  it.each(DATATYPES)('round-trips %s through JSON and binary', (datatype) => {
    const values = datatype === 'BYTES' ? ['a', 'bc', '', 'ü'] : datatype === 'BOOL' ? [true, false, true, true] : [0, 1, 2, 3];
    const tensor = fromJsonData('t', datatype, [2, 2], values);
    expect(toJsonData(tensor)).toEqual(values);
    const back = fromBinary('t', datatype, [2, 2], toBinary(tensor));
    expect(toJsonData(back)).toEqual(values);
  });

  it('accepts nested row-major data', () => {
    expect(toJsonData(fromJsonData('x', 'FP32', [2, 2], [[1, 2], [3, 4]]))).toEqual([1, 2, 3, 4]);
  });

  it('names the tensor when the element count, type or range is wrong', () => {
    expect(() => fromJsonData('features', 'FP32', [1, 64], [1, 2, 3])).toThrow('tensor "features": shape [1,64] needs 64 elements, but data has 3');
    expect(() => fromJsonData('k', 'INT8', [1], [300])).toThrow("outside INT8's range");
    expect(() => fromJsonData('x', 'FP32', [1], ['one'])).toThrow('must be a number');
    expect(() => fromBinary('x', 'FP32', [2], new Uint8Array(7))).toThrow('needs 8 bytes, got 7');
  });

  it('converts FP16 within half precision', () => {
    for (const v of [0, 1, -2.5, 65504, 0.000061035]) expect(fromHalf(toHalf(v))).toBeCloseTo(v, 3);
  });

  it('concatenates along dim 0 and splits back per request', () => {
    const a = [fromJsonData('x', 'FP32', [1, 2], [1, 2])];
    const b = [fromJsonData('x', 'FP32', [2, 2], [3, 4, 5, 6])];
    const { inputs, rows } = concatBatch([a, b]);
    expect(inputs[0]!.shape).toEqual([3, 2]);
    const [ra, rb] = splitBatch(inputs, rows);
    expect(toJsonData(ra![0]!)).toEqual([1, 2]);
    expect(toJsonData(rb![0]!)).toEqual([3, 4, 5, 6]);
  });
});
