import { describe, expect, it } from 'vitest';
import { decodeInferRequest, encodeInferResponse } from './v2-codec.ts';

const input = { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] };
const outputs = [
  { name: 'a', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([1, 2]) },
  { name: 'b', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([3, 4]) },
];
const binaryNames = (body: unknown) => {
  const request = decodeInferRequest(body);
  const { header } = encodeInferResponse({ name: 'm', version: '1' }, request, outputs.filter((o) => !request.outputs || request.outputs.includes(o.name)));
  return (header.outputs as Array<{ name: string; data?: unknown }>).filter((o) => o.data === undefined).map((o) => o.name);
};

describe('binary outputs (Triton binary tensor extension)', () => {
  it('binary_data_output makes every output binary', () => {
    expect(binaryNames({ inputs: [input], parameters: { binary_data_output: true } })).toEqual(['a', 'b']);
    expect(binaryNames({ inputs: [input] })).toEqual([]);
  });

  it("an output's own binary_data overrides binary_data_output", () => {
    const body = { inputs: [input], parameters: { binary_data_output: true }, outputs: [{ name: 'a', parameters: { binary_data: false } }, { name: 'b' }] };
    expect(binaryNames(body)).toEqual(['b']);
    expect(binaryNames({ inputs: [input], outputs: [{ name: 'a', parameters: { binary_data: true } }, { name: 'b' }] })).toEqual(['a']);
  });
});

describe('output selection', () => {
  it('an empty outputs list asks for every output, like a missing one', () => {
    expect(decodeInferRequest({ inputs: [input], outputs: [] }).outputs).toBeUndefined();
    expect(binaryNames({ inputs: [input], outputs: [], parameters: { binary_data_output: true } })).toEqual(['a', 'b']);
    expect(decodeInferRequest({ inputs: [input], outputs: [{ name: 'b' }] }).outputs).toEqual(['b']);
  });
});
