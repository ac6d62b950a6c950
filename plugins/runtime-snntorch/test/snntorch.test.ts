import { fileURLToPath } from 'node:url';
import { describeSidecarRuntime } from '../../../test/support/sidecars.ts';
import { SnntorchOptions, snntorchRuntime } from '../src/index.ts';

await describeSidecarRuntime({
  title: 'runtime-snntorch',
  fixtures: fileURLToPath(new URL('../fixtures/', import.meta.url)),
  model: 'spiking-mlp',
  framework: 'snntorch',
  fixtureName: 'seed 001 spiking detector',
  runtime: (python, logger) => snntorchRuntime(SnntorchOptions.parse({ python, spare: false }), logger),
  signature: {
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
    outputs: [
      { name: 'spike_counts', datatype: 'FP32', shape: [-1, 13] },
      { name: 'membrane_potentials', datatype: 'FP32', shape: [-1, 25, 13] },
    ],
  },
  described: { runtime: 'snntorch', device: 'cpu', num_steps: 25, restarts: 0 },
});
