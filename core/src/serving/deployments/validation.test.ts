import type { ModelSignature } from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { signatureBreaks } from './validation.ts';

const stable: ModelSignature = {
  inputs: [
    { name: 'features', datatype: 'FP32', shape: [-1, 64] },
    { name: 'mask', datatype: 'BOOL', shape: [-1, 64] },
  ],
  outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 13] }],
};

describe('signatureBreaks', () => {
  it('accepts the same signature, a wider shape and extra outputs', () => {
    expect(signatureBreaks(stable, stable)).toEqual([]);
    const wider: ModelSignature = {
      inputs: [
        { name: 'features', datatype: 'FP32', shape: [-1, -1] },
        { name: 'mask', datatype: 'BOOL', shape: [-1, 64] },
      ],
      outputs: [...stable.outputs, { name: 'logits', datatype: 'FP32', shape: [-1, 13] }],
    };
    expect(signatureBreaks(stable, wider)).toEqual([]);
  });

  it('names every input or output a client of the stable version would trip on', () => {
    const candidate: ModelSignature = {
      inputs: [
        { name: 'features', datatype: 'FP16', shape: [-1, 64] },
        { name: 'ids', datatype: 'INT64', shape: [-1, 1] },
      ],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 13] }],
    };
    expect(signatureBreaks(stable, candidate)).toEqual(['input "features" is FP16, not FP32', 'input "mask" is gone', 'input "ids" is new', 'output "probabilities" is gone']);
    const narrower: ModelSignature = { ...stable, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 64] }, stable.inputs[1]!] };
    expect(signatureBreaks(stable, narrower)).toEqual(['input "features" takes [1,64], not [-1,64]']);
  });
});
