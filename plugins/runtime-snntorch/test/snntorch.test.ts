import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  fromJsonData,
  loadRequestFromDirectory,
  type PluginLogger,
  type RuntimeFixture,
  runtimeConformance,
  type Tensor,
} from '@modelplane/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { sidecarPython } from '../../../test/support/sidecars.ts';
import { SnntorchOptions, snntorchRuntime } from '../src/index.ts';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const reference = JSON.parse(readFileSync(`${fixtures}spiking-mlp.reference.json`, 'utf8')) as {
  inputs: { features: { shape: number[]; data: number[] } };
  outputs: Record<string, { shape: number[]; data: number[] }>;
  tolerance: number;
};
const silent: PluginLogger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const python = await sidecarPython();
const input: Tensor[] = [fromJsonData('features', 'FP32', reference.inputs.features.shape, reference.inputs.features.data)];

describe.runIf(python)('runtime-snntorch', () => {
  // The conformance kit loads an instance per check; without a spare each load starts one interpreter.
  const runtime = snntorchRuntime(SnntorchOptions.parse({ python, spare: false }), silent);
  const fixture: RuntimeFixture = {
    name: 'seed 001 spiking detector',
    load: loadRequestFromDirectory(`${fixtures}spiking-mlp`, { framework: 'snntorch' }),
    input,
    expected: { outputs: reference.outputs, tolerance: reference.tolerance },
    batchable: true,
  };
  describe('conformance', () => {
    for (const check of runtimeConformance(runtime, [fixture])) it(check.name, check.run, 60_000);
  });

  it('describes its device and declares the seed signature', async () => {
    const instance = await runtime.load(fixture.load);
    try {
      expect(instance.signature).toEqual({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
        outputs: [
          { name: 'spike_counts', datatype: 'FP32', shape: [-1, 13] },
          { name: 'membrane_potentials', datatype: 'FP32', shape: [-1, 25, 13] },
        ],
      });
      expect(instance.describe?.()).toMatchObject({ runtime: 'snntorch', device: 'cpu', num_steps: 25, restarts: 0 });
    } finally {
      await instance.dispose();
    }
  }, 60_000);
});
