import { fileURLToPath } from 'node:url';
import { describeSidecarRuntime } from '../../../test/support/sidecars.ts';
import { PennylaneOptions, pennylaneRuntime } from '../src/index.ts';

await describeSidecarRuntime({
  title: 'runtime-pennylane',
  fixtures: fileURLToPath(new URL('../fixtures/', import.meta.url)),
  model: 'hybrid-qnn',
  framework: 'pennylane',
  fixtureName: 'seed 001 hybrid QNN',
  runtime: (python, logger) => pennylaneRuntime(PennylaneOptions.parse({ python, spare: false }), logger),
  signature: {
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 64] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 13] },
      { name: 'expectations', datatype: 'FP32', shape: [-1, 4] },
    ],
  },
  described: { runtime: 'pennylane', device: 'default.qubit', qubits: 4, layers: 3, restarts: 0 },
});
